import type { IncomingMessage } from "node:http";
import { Duplex } from "node:stream";
import { NmsIncompatibleError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import { parseIpAddress } from "../net/ip-address.js";

/**
 * How large one WebSocket message may be on a WS-FLV connection. `ws` buffers a whole message (every
 * fragment of it) before it emits it, up to its server's `maxPayload`, 100 MiB unless set, and
 * node-media-server sets none: each connection that announced a 100 MiB frame and trickled it held
 * that much memory.
 */
export const WS_MESSAGE_BOUNDS = {
  /** A viewer: players send nothing, so a few KiB is generous (ws checks data frames only; control frames are ≤ 125 bytes). */
  viewerBytes: 4 * 1024,
  /** A publisher (NMS 4's WS-FLV push): the RTMP shield's publisher buffer, room for a 16 MiB keyframe. */
  publisherBytes: 32 * 1024 * 1024,
} as const;

/** How long a refused connection may take to flush ws's close frame (1009) before it is destroyed. */
const DESTROY_AFTER_MS = 1000;
/** ws's `WebSocket.OPEN`. */
const OPEN = 1;
/** The error code ws gives a message over `maxPayload` (lib/receiver.js), with close code 1009. */
const TOO_BIG = "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH";

/** The fields of ws 8's WebSocketServer the bound reads and sets (lib/websocket-server.js). */
interface WsServer {
  options: { maxPayload: number; WebSocket: new (address: null, protocols: undefined, options: object) => WsSocket };
  prependListener(event: "connection", listener: (socket: WsSocket, req: IncomingMessage) => void): unknown;
  on(event: "connection", listener: (socket: WsSocket, req: IncomingMessage) => void): unknown;
  off(event: "connection", listener: (socket: WsSocket, req: IncomingMessage) => void): unknown;
}

/** The fields of ws 8's WebSocket the bound reads and sets (lib/websocket.js, lib/receiver.js). */
export interface WsSocket {
  readonly protocol: string;
  readonly readyState: number;
  _receiver?: { _maxPayload?: unknown };
  setSocket(socket: Duplex, head: Buffer, options: { maxPayload: number }): void;
  on(event: "error", listener: (error: Error & { code?: string }) => void): unknown;
  terminate(): void;
}

/** One server the bound was put on, to undo it. */
interface Bounded {
  readonly server: WsServer;
  readonly originalMaxPayload: number;
  readonly before: (socket: WsSocket, req: IncomingMessage) => void;
  readonly after: (socket: WsSocket) => void;
}

/**
 * WsMessageBound bounds the messages of a host's `ws` WebSocketServer per connection: a viewer's to
 * `viewerBytes`, a publisher's to `publisherBytes`. ws reads the server's `options.maxPayload` when it
 * accepts an upgrade and gives it to the connection's receiver; the bound sets that option to the viewer
 * limit, and a `connection` listener that runs before the host's (and before ws reads a byte of the
 * connection) sets the receiver's limit to it too and watches for ws's refusal. A second `connection`
 * listener, run after the host's, raises the limit to `publisherBytes` for a connection the host made a
 * publisher and has not closed: NMS decides a publisher synchronously in its handler (the publish gate
 * closes a refused one there), so a refused publisher never gets more than a viewer. A message over the
 * limit: ws stops reading, answers close 1009 and emits `error`; the bound logs `flv.refused`
 * (`field: "body"`) and destroys the socket 1 s later.
 *
 * `bound` proves, on the server's own WebSocket class, that the receiver takes its limit where the
 * bound sets it, and throws NmsIncompatibleError (with nothing changed) when it does not.
 */
export class WsMessageBound {
  readonly #log: Logger;
  readonly #isPublisher: (socket: WsSocket) => boolean;
  readonly #bounded: Bounded[] = [];

  /** `isPublisher`: whether the host made a connection a publisher, asked after its `connection` handler ran. */
  constructor(log: Logger, isPublisher: (socket: WsSocket) => boolean) {
    this.#log = log;
    this.#isPublisher = isPublisher;
  }

  /** Bounds the messages of `server` (a ws 8 WebSocketServer). Throws NmsIncompatibleError when it is not one the bound knows. */
  bound(server: unknown): void {
    const ws = assertBoundable(server);
    if (this.#bounded.some((b) => b.server === ws)) return;
    const before = (socket: WsSocket, req: IncomingMessage) => this.#connected(socket, req);
    const after = (socket: WsSocket) => this.#decided(socket);
    this.#bounded.push({ server: ws, originalMaxPayload: ws.options.maxPayload, before, after });
    ws.options.maxPayload = WS_MESSAGE_BOUNDS.viewerBytes;
    ws.prependListener("connection", before);
    ws.on("connection", after);
  }

  /** Gives every server its own limit back (connections already open keep theirs). */
  unbound(): void {
    for (const { server, originalMaxPayload, before, after } of this.#bounded.splice(0)) {
      server.options.maxPayload = originalMaxPayload;
      server.off("connection", before);
      server.off("connection", after);
    }
  }

  /** Before the host's handler: a viewer's limit, and the refusal watched. */
  #connected(socket: WsSocket, req: IncomingMessage): void {
    const receiver = socket._receiver;
    if (receiver === undefined || typeof receiver._maxPayload !== "number") {
      // Proven at attach; should ws ever hand over a connection without it, refuse rather than buffer 100 MiB.
      socket.terminate();
      this.#refused(req, false, WS_MESSAGE_BOUNDS.viewerBytes, "no bounded WebSocket receiver");
      return;
    }
    receiver._maxPayload = WS_MESSAGE_BOUNDS.viewerBytes;
    socket.on("error", (error) => {
      if (error.code !== TOO_BIG) return;
      const limit = receiver._maxPayload as number;
      this.#refused(req, limit > WS_MESSAGE_BOUNDS.viewerBytes, limit, `WebSocket message over ${limit} bytes`);
      // ws wrote its close frame (1009) to the socket, the one the upgrade came on; NMS 2.7 corks a
      // player's socket while it writes media and uncorks it only on later media, which a closing
      // player never gets: flushed here, or the frame would be lost when the socket is destroyed.
      const raw = req.socket;
      while (raw.writableCorked > 0) raw.uncork();
      setTimeout(() => socket.terminate(), DESTROY_AFTER_MS).unref();
    });
  }

  /** After the host's handler: a publisher it accepted (the connection still open) gets a publisher's limit. */
  #decided(socket: WsSocket): void {
    const receiver = socket._receiver;
    if (socket.readyState !== OPEN || receiver === undefined || !this.#isPublisher(socket)) return;
    receiver._maxPayload = WS_MESSAGE_BOUNDS.publisherBytes;
  }

  #refused(req: IncomingMessage, publisher: boolean, maxBytes: number, reason: string): void {
    const peer = req.socket.remoteAddress;
    const ip = peer === undefined ? "" : (parseIpAddress(peer)?.text ?? peer);
    this.#log.info(
      { event: "flv.refused", protocol: "ws-flv", ip, field: "body", reason, publisher, maxBytes },
      "refused a WebSocket message over its bound",
    );
  }
}

/**
 * Proves, before the host has made its ws server, that the `ws` module it loads (`wsModule`, required
 * from the host's own folder) makes servers the bound can bound: one made with `noServer` is checked
 * as `bound` checks the host's, and closed. Throws NmsIncompatibleError otherwise.
 */
export function assertBoundableWsModule(wsModule: unknown): void {
  const WebSocketServer = (wsModule as { WebSocketServer?: unknown } | null | undefined)?.WebSocketServer;
  if (typeof WebSocketServer !== "function") throw new NmsIncompatibleError("the ws module the host loads has no WebSocketServer");
  const sample = new (WebSocketServer as new (options: object) => { close(): void })({ noServer: true });
  try {
    assertBoundable(sample);
  } finally {
    sample.close();
  }
}

/**
 * The server as a ws 8 WebSocketServer whose connections take their message limit from where the bound
 * sets it: a numeric `options.maxPayload`, and a WebSocket class (`options.WebSocket`, the one the
 * server makes connections with) whose `setSocket` gives the receiver it makes that limit as
 * `_maxPayload`, checked on a socket that is never connected to anything.
 */
function assertBoundable(server: unknown): WsServer {
  const candidate = server as Partial<WsServer> | null | undefined;
  const options = candidate?.options;
  if (typeof options !== "object" || options === null || typeof options.maxPayload !== "number") {
    throw new NmsIncompatibleError("the ws WebSocketServer has no numeric options.maxPayload");
  }
  if (typeof candidate!.prependListener !== "function" || typeof candidate!.on !== "function" || typeof candidate!.off !== "function")
    throw new NmsIncompatibleError("the ws WebSocketServer is not an EventEmitter");
  const WebSocket = options.WebSocket;
  if (typeof WebSocket !== "function" || typeof WebSocket.prototype?.setSocket !== "function") {
    throw new NmsIncompatibleError("the ws WebSocketServer has no WebSocket class with setSocket in its options");
  }
  const probeLimit = 12_345;
  const idle = new Duplex({
    read() {},
    write(_chunk, _encoding, done) {
      done();
    },
  });
  let received: unknown;
  try {
    const socket = new WebSocket(null, undefined, options);
    socket.setSocket(idle, Buffer.alloc(0), { maxPayload: probeLimit });
    received = socket._receiver?._maxPayload;
  } catch (error) {
    throw new NmsIncompatibleError(`ws's WebSocket could not be set on a socket (${(error as Error).message})`);
  } finally {
    idle.destroy();
  }
  if (received !== probeLimit) throw new NmsIncompatibleError("ws's WebSocket receiver does not keep its message limit in _maxPayload");
  return candidate as WsServer;
}
