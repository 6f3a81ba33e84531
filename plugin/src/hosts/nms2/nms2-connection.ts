import type { ServerResponse } from "node:http";
import type { Protocol } from "../../core/auth-request.js";
import type { Decision } from "../../core/decision.js";
import { httpRequestFields, pageHostOf } from "../../gate/http-request-fields.js";
import type { RequestFields } from "../../gate/connection-port.js";
import { rtmpHostAndOrigin } from "../rtmp-host-and-origin.js";
import { parseIpAddress } from "../../net/ip-address.js";
import { tcpEndpointsOf } from "../../net/process-proof.js";
import type { IpRuleList } from "../../net/ip-rule-list.js";
import type { Nms2FlvSession, Nms2RtmpSession, Nms2WebSocket } from "./nms2-internals.js";

/**
 * How the NMS 2.7 adapter reads, refuses and cuts one viewer connection, per protocol. NMS 2.7 has a
 * session class per protocol: RTMP (`NodeRtmpSession`, its socket), and HTTP-FLV / WS-FLV
 * (`NodeFlvSession`, whose `res` is an express response or a `ws` WebSocket).
 */

export type Nms2PlaySession = Nms2RtmpSession | Nms2FlvSession;

/** WebSocket close code for a refused or cut play (the NMS 4 adapter's too). */
const WS_CLOSE_FORBIDDEN = 4403;
/** How long a refused connection may linger half-closed before it is destroyed. */
const DESTROY_AFTER_MS = 1000;

export function isRtmp(session: Nms2PlaySession): session is Nms2RtmpSession {
  return session.TAG === "rtmp";
}

export function protocolOf(session: Nms2PlaySession): Protocol {
  if (isRtmp(session)) return "rtmp";
  return session.req.nmsConnectionType === "ws" ? "ws-flv" : "http-flv";
}

/** The socket a session's bytes go out on. */
export function socketOf(session: Nms2PlaySession): { readonly bytesWritten: number; readonly destroyed: boolean } | undefined {
  return isRtmp(session) ? session.socket : session.req.socket;
}

/** True when NMS has stopped the session or its connection closed. */
export function isConnectionGone(session: Nms2PlaySession): boolean {
  if (!session.isStarting) return true;
  if (isRtmp(session)) return session.socket.destroyed;
  const res = session.res;
  if (isWebSocket(res)) return res.readyState !== 1;
  return res.writableEnded || res.destroyed || session.req.socket.destroyed;
}

/**
 * Refuses a held play before any media: RTMP gets `NetStream.Play.Failed` on the play's stream id and
 * the socket closes; HTTP-FLV a 403 (or a 302 to the deny's redirect); WS-FLV a close with code 4403.
 */
export function refusePlay(session: Nms2PlaySession, decision: Decision, rtmpStreamId: number): void {
  if (isRtmp(session)) {
    session.sendStatusMessage(rtmpStreamId, "error", "NetStream.Play.Failed", "Forbidden");
    const socket = session.socket;
    socket.end();
    setTimeout(() => socket.destroy(), DESTROY_AFTER_MS).unref();
    return;
  }
  const res = session.res;
  if (isWebSocket(res)) {
    res.close(WS_CLOSE_FORBIDDEN, "Forbidden");
    setTimeout(() => res.terminate(), DESTROY_AFTER_MS).unref();
    return;
  }
  refuseHttp(res, decision.verdict === "deny" ? decision.redirectUrl : undefined);
}

/** Cuts a viewer off now (API close, revocation, deny on re-check); NMS's close handlers stop its session. */
export function closeConnection(session: Nms2PlaySession): void {
  if (isRtmp(session)) return void session.socket.destroy();
  const res = session.res;
  if (isWebSocket(res)) {
    res.close(WS_CLOSE_FORBIDDEN, "Session closed");
    setTimeout(() => res.terminate(), DESTROY_AFTER_MS).unref();
    return;
  }
  res.end(); // the chunked response's end first, as the NMS 4 adapter does; then the socket, at once
  session.req.socket.destroy();
}

/** What the viewer asked to play, read the way NMS 2.7 reads it. */
export interface Nms2PlayTarget {
  readonly app: string;
  readonly channel: string;
  /** NMS's stream path, `/<app>/<channel>`. */
  readonly streamPath: string;
  /** The raw query (RTMP: the stream name's `?…` part), without `?`. */
  readonly query: string;
}

/** An RTMP play's target: the connection's app and the play command's stream name (`name?query`). */
export function rtmpPlayTarget(session: Nms2RtmpSession, streamName: string): Nms2PlayTarget {
  const queryStart = streamName.indexOf("?");
  const channel = queryStart < 0 ? streamName : streamName.slice(0, queryStart);
  const query = queryStart < 0 ? "" : streamName.slice(queryStart + 1);
  return { app: session.appname, channel, streamPath: `/${session.appname}/${channel}`, query };
}

/** An FLV play's target, from the stream path NMS cut out of the URL (`/<app>/<channel>`). */
export function flvPlayTarget(session: Nms2FlvSession): Nms2PlayTarget | null {
  const match = /^\/([^/]*)\/([^/]*)$/.exec(session.playStreamPath);
  if (match === null) return null;
  const rawUrl = session.req.url ?? "";
  const queryStart = rawUrl.indexOf("?");
  return {
    app: match[1]!,
    channel: match[2]!,
    streamPath: session.playStreamPath,
    query: queryStart < 0 ? "" : rawUrl.slice(queryStart + 1),
  };
}

/** The request fields of an NMS 2.7 play, decoded once where the play enters the gate. */
export function playFieldsOf(session: Nms2PlaySession, target: Nms2PlayTarget, trustedProxies: IpRuleList): RequestFields {
  if (isRtmp(session)) {
    const address = session.ip === undefined ? null : parseIpAddress(session.ip);
    const query = target.query; // as received, like the HTTP protocols' (a signature may cover its exact bytes)
    const { host, origin } = rtmpHostAndOrigin(session.connectCmdObj?.tcUrl);
    const flashVer = session.connectCmdObj?.flashVer;
    const connection = tcpEndpointsOf(session.socket);
    const pageUrl = session.connectCmdObj?.pageUrl;
    return {
      ...(connection === undefined ? {} : { connection }),
      ...(typeof pageUrl === "string" && pageUrl !== "" ? { pageHost: pageHostOf(pageUrl) } : {}),
      ip: address?.text ?? session.ip ?? "",
      address,
      path: target.streamPath,
      query,
      params: new URLSearchParams(query),
      userAgent: typeof flashVer === "string" ? flashVer : "",
      host,
      origin,
    };
  }
  const req = session.req as typeof session.req & { originalUrl?: string };
  return httpRequestFields(req, req.originalUrl ?? req.url ?? session.playStreamPath, trustedProxies, protocolOf(session) === "ws-flv");
}

function refuseHttp(res: ServerResponse, redirectUrl: string | undefined): void {
  if (res.headersSent) return void res.destroy(); // nothing is written before the verdict; cut rather than leak
  if (redirectUrl !== undefined) {
    res.writeHead(302, { Location: redirectUrl, "Cache-Control": "no-store", Connection: "close", "Content-Length": "0" });
    return void res.end();
  }
  const body = "Forbidden\n";
  res.writeHead(403, {
    "Content-Type": "text/plain; charset=utf-8",
    "Cache-Control": "no-store",
    Connection: "close",
    "Content-Length": String(body.length),
  });
  res.end(body);
}

function isWebSocket(res: ServerResponse | Nms2WebSocket): res is Nms2WebSocket {
  return !("writeHead" in res);
}
