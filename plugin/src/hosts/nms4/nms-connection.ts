import type BaseSession from "node-media-server/src/session/base_session.js";
import type Flv from "node-media-server/src/protocol/flv.js";
import type { ServerResponse } from "node:http";
import type { WebSocket } from "ws";
import type { Protocol } from "../../core/auth-request.js";
import type { Decision } from "../../core/decision.js";

/**
 * Protocol-specific handling of an NMS viewer connection: what kind it is, whether it is gone, how to
 * refuse it before any media, and how to cut it off. NMS 4.4.3 says `flv` for both HTTP-FLV and WS-FLV;
 * a WS session's `res` is a WebSocket.
 */

/** WebSocket close code for a refused play (4000-4999 are free for applications). */
export const WS_CLOSE_FORBIDDEN = 4403;
/** How long a cut-off connection may linger half-closed before it is destroyed. */
const DESTROY_AFTER_MS = 1000;

export function protocolOf(session: BaseSession): Protocol | null {
  if (session.protocol === "rtmp") return "rtmp";
  if (session.protocol !== "flv" || session.res === undefined) return null;
  return isWebSocket(session.res) ? "ws-flv" : "http-flv";
}

/** True when the viewer's connection has already closed. */
export function isConnectionGone(session: BaseSession): boolean {
  if (session.protocol === "rtmp") return session.socket === undefined || session.socket.destroyed;
  const res = session.res;
  if (res === undefined) return true;
  if (isWebSocket(res)) return res.readyState !== 1;
  return res.writableEnded || res.destroyed || session.req?.socket.destroyed === true;
}

/**
 * Refuses a play before a single media byte: HTTP-FLV gets a 403 (or a 302 to the deny's redirect),
 * WS-FLV a close with code 4403, RTMP a `NetStream.Play.Failed` status and then the socket closes.
 * The viewer learns nothing of the reason; that goes to the log.
 */
export function refusePlay(session: BaseSession, decision: Decision): void {
  const res = session.res;
  if (session.protocol === "rtmp") {
    const rtmp = session.rtmp;
    rtmp?.sendStatusMessage(rtmp.streamId, "error", "NetStream.Play.Failed", "Forbidden");
    endSocketSoon(session);
  } else if (res !== undefined && isWebSocket(res)) {
    res.close(WS_CLOSE_FORBIDDEN, "Forbidden");
    terminateSoon(res);
  } else if (res !== undefined) {
    refuseHttp(res, decision.verdict === "deny" ? decision.redirectUrl : undefined);
  }
}

const NO_TAG = Buffer.alloc(0);

/**
 * Gives back the FLV tag buffer NMS 4.4.3 allocates for every HTTP-FLV and WS-FLV session (1 MiB,
 * zeroed, in the `Flv` constructor), which a viewer never fills: it is the parser of what a publisher
 * sends. Given back as the play enters the gate, it dies young instead of living as long as the viewer:
 * 1,000 viewers held 1 GB of it, and in a join storm those buffers kept V8 running full collections.
 * Safe without the input shield too: NMS's parser grows the buffer again for a tag larger than it.
 */
export function releaseViewerTagBuffer(session: BaseSession): void {
  if (session.protocol !== "flv" || session.isPublisher) return;
  const flv = session.flv as Flv | undefined;
  if (flv === undefined || flv.parserTagBytes !== 0 || !Buffer.isBuffer(flv.parserTagData)) return;
  flv.parserTagData = NO_TAG;
  flv.parserTagCapacity = 0;
}

/** Cuts a playing viewer off now (API close, revocation, deny on re-check). */
export function closeConnection(session: BaseSession): void {
  const res = session.res;
  if (session.protocol === "rtmp") {
    session.socket?.destroy();
  } else if (res !== undefined && isWebSocket(res)) {
    res.close(WS_CLOSE_FORBIDDEN, "Session closed");
    terminateSoon(res);
  } else if (res !== undefined) {
    res.end();
    session.req?.socket.destroy();
  }
}

function refuseHttp(res: ServerResponse, redirectUrl: string | undefined): void {
  if (res.headersSent) {
    // Cannot happen before postPlay (nothing is written earlier); if it does, cut rather than leak.
    res.destroy();
    return;
  }
  // Connection: close so NMS sees the socket close and drops its session; keep-alive would strand it.
  if (redirectUrl !== undefined) {
    res.writeHead(302, { Location: redirectUrl, "Cache-Control": "no-store", Connection: "close", "Content-Length": "0" });
    res.end();
  } else {
    const body = "Forbidden\n";
    res.writeHead(403, {
      "Content-Type": "text/plain; charset=utf-8",
      "Cache-Control": "no-store",
      Connection: "close",
      "Content-Length": String(body.length),
    });
    res.end(body);
  }
}

function endSocketSoon(session: BaseSession): void {
  const socket = session.socket;
  if (socket === undefined) return;
  socket.end();
  setTimeout(() => socket.destroy(), DESTROY_AFTER_MS).unref();
}

function terminateSoon(ws: WebSocket): void {
  setTimeout(() => ws.terminate(), DESTROY_AFTER_MS).unref();
}

function isWebSocket(res: ServerResponse | WebSocket): res is WebSocket {
  return !("writeHead" in res);
}
