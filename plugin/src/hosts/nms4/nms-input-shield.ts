import type NodeMediaServer from "node-media-server";
import { NmsIncompatibleError } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import { FlvInputShield } from "./flv-input-shield.js";
import { NmsSessionOwners } from "./nms-session-owners.js";
import { RtmpInputShield } from "./rtmp-input-shield.js";
import type { Nms4Internals } from "./nms4-internals.js";
import { WsMessageBound, type WsSocket } from "../ws-message-bound.js";

/**
 * NmsInputShield validates what viewers and publishers send at the edge, before node-media-server
 * 4.4.3 parses it: RTMP chunks and commands (`RtmpInputShield`), HTTP-FLV and WS-FLV request targets
 * and FLV bodies (`FlvInputShield`), and the size of a WS-FLV message (`WsMessageBound`, before ws
 * buffers it). Malformed input gets the protocol's refusal and one log line, never an exception: each
 * NMS path it shields, and the upstream bug behind it, is in docs/nms-shields.md. The NMS 4 host adapter (`Nms4Host`) installs it before anything else and removes it last.
 *
 * @example
 * const shield = new NmsInputShield(log, nms4InternalsOf(nms));
 * shield.attach(nms); // before the play gate and the HLS gate
 * // …
 * shield.detach(); // after the HLS gate is detached
 */
export class NmsInputShield {
  readonly #owners: NmsSessionOwners;
  readonly #rtmp: RtmpInputShield;
  readonly #flv: FlvInputShield;
  readonly #wsMessages: WsMessageBound;

  /** `nms4`: the internals of the instance's own NMS copy (`nms4InternalsOf`). */
  constructor(log: Logger, nms4: Nms4Internals) {
    this.#owners = new NmsSessionOwners(nms4);
    this.#rtmp = new RtmpInputShield(this.#owners, log, nms4);
    this.#flv = new FlvInputShield(this.#owners, log, nms4);
    this.#wsMessages = new WsMessageBound(log, isWsFlvPublisher);
  }

  /** Installs every part; throws NmsIncompatibleError, with nothing left installed, when NMS is not as expected. */
  attach(nms: NodeMediaServer): void {
    try {
      this.#owners.attach();
      this.#rtmp.attach();
      this.#flv.attach(nms);
      // NMS 4.4.3 makes a ws server beside each of its HTTP and HTTPS servers, in its HTTP server's constructor.
      const { httpServer, httpsServer, wsServer, wssServer } = nms.httpServer as {
        httpServer?: unknown;
        httpsServer?: unknown;
        wsServer?: unknown;
        wssServer?: unknown;
      };
      for (const [web, ws, names] of [
        [httpServer, wsServer, "httpServer/wsServer"],
        [httpsServer, wssServer, "httpsServer/wssServer"],
      ] as const) {
        if (web === undefined) continue;
        if (ws === undefined) throw new NmsIncompatibleError(`NodeHttpServer has no ws server beside its web server (${names})`);
        this.#wsMessages.bound(ws);
      }
    } catch (error) {
      this.detach();
      throw error;
    }
  }

  /** Removes every part (safe to call twice, or after a failed attach). */
  detach(): void {
    this.#wsMessages.unbound();
    this.#flv.detach();
    this.#rtmp.detach();
    this.#owners.detach();
  }
}

/**
 * Whether NMS 4.4.3 makes a WebSocket connection a publisher: its sub-protocol is `post` or `publisher`
 * in any case (session/flv_session.js, the `FlvSession` constructor). Asked once NMS's handler ran, on a
 * connection still open: the publish gate has accepted it by then.
 */
function isWsFlvPublisher(socket: WsSocket): boolean {
  const protocol = typeof socket.protocol === "string" ? socket.protocol.toLowerCase() : "";
  return protocol === "post" || protocol === "publisher";
}
