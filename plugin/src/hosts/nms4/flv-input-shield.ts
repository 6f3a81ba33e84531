import type { IncomingMessage, Server as HttpServer, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type Flv from "node-media-server/src/protocol/flv.js";
import type NodeMediaServer from "node-media-server";
import type BaseSession from "node-media-server/src/session/base_session.js";
import { NmsIncompatibleError } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import { parseIpAddress, parseNmsSessionAddress } from "../../net/ip-address.js";
import { errorSummary } from "../../gate/error-summary.js";
import { classifyFlvRequest } from "./flv-request-target.js";
import type { InputProblem } from "../../gate/input-problem.js";
import { loggableInput } from "../../gate/loggable-input.js";
import { closeConnection, protocolOf } from "./nms-connection.js";
import type { NmsSessionOwners } from "./nms-session-owners.js";
import type { Nms4Internals } from "./nms4-internals.js";

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;
type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
type Server = HttpServer | NonNullable<NodeMediaServer["httpServer"]["httpsServer"]>;

/** A server whose listeners the shield fronts: the listeners it took over and its own two. */
interface Fronted {
  server: Server;
  requests: RequestListener[];
  upgrades: UpgradeListener[];
  request: RequestListener;
  upgrade: UpgradeListener;
}

const BAD_REQUEST_BODY = "Bad Request\n";
/** How long a refused upgrade's socket may take to flush the 400 before it is destroyed. */
const DESTROY_AFTER_MS = 1000;

/**
 * FlvInputShield stands in front of node-media-server's HTTP-FLV and WS-FLV handling. It takes over
 * the `request` and `upgrade` listeners of NMS's HTTP (and HTTPS) server, as the HTTP front does, and
 * refuses every FLV request NMS 4.4.3 would throw on (`classifyFlvRequest`) with a plain 400 before
 * express or ws sees it; everything else goes to the listeners it replaced, unchanged. It also wraps
 * NMS's FLV tag parser: bytes a viewer sends (a GET body, a WebSocket message) are refused instead of
 * buffered, and an exception while parsing a publisher's FLV cuts that connection, not the process.
 *
 * Attach it before the HTTP front (`Nms4Host.attachHttp`), so that front wraps this one.
 */
export class FlvInputShield {
  readonly #owners: NmsSessionOwners;
  readonly #log: Logger;
  readonly #nms4: Nms4Internals;
  readonly #fronted: Fronted[] = [];
  readonly #refusedParsers = new WeakSet<object>();
  #originalParserData: Flv["parserData"] | undefined;

  constructor(owners: NmsSessionOwners, log: Logger, nms4: Nms4Internals) {
    this.#owners = owners;
    this.#log = log;
    this.#nms4 = nms4;
  }

  /** Fronts NMS's HTTP and HTTPS servers (those it has) and wraps the FLV parser. */
  attach(nms: NodeMediaServer): void {
    if (this.#originalParserData !== undefined) return;
    const proto = this.#nms4.Flv.prototype;
    if (!Object.hasOwn(proto, "parserData") || typeof proto.parserData !== "function")
      throw new NmsIncompatibleError("Flv.prototype.parserData is not a function");
    const original = proto.parserData;
    const shield = this;
    proto.parserData = function shieldedFlvParserData(this: Flv, buffer: Buffer) {
      return shield.#parse(this, buffer, original);
    };
    this.#originalParserData = original;
    for (const server of [nms.httpServer.httpServer, nms.httpServer.httpsServer]) {
      if (server !== undefined) this.#front(server);
    }
  }

  /** Gives the servers their own listeners back and NMS's FLV parser its own method. */
  detach(): void {
    for (const { server, requests, upgrades, request, upgrade } of this.#fronted.splice(0)) {
      server.off("request", request);
      server.off("upgrade", upgrade);
      for (const listener of requests) server.on("request", listener);
      for (const listener of upgrades) server.on("upgrade", listener);
    }
    if (this.#originalParserData !== undefined) this.#nms4.Flv.prototype.parserData = this.#originalParserData;
    this.#originalParserData = undefined;
  }

  #front(server: Server): void {
    const shield = this;
    const fronted: Fronted = {
      server,
      requests: server.listeners("request") as RequestListener[],
      upgrades: server.listeners("upgrade") as UpgradeListener[],
      request: function shieldedRequest(req, res) {
        shield.#request(fronted, req, res);
      },
      upgrade: function shieldedUpgrade(req, socket, head) {
        shield.#upgrade(fronted, req, socket, head);
      },
    };
    server.removeAllListeners("request");
    server.removeAllListeners("upgrade");
    server.on("request", fronted.request);
    server.on("upgrade", fronted.upgrade);
    this.#fronted.push(fronted);
  }

  #request(fronted: Fronted, req: IncomingMessage, res: ServerResponse): void {
    const target = classifyFlvRequest(req.url ?? "/", "http");
    if (target.kind !== "bad") {
      for (const listener of fronted.requests) listener.call(fronted.server, req, res);
      return;
    }
    this.#logRefusal("http-flv", req.socket.remoteAddress, target.problem);
    // HTTP/2 forbids connection-specific headers; over HTTP/1.1, close so nothing else rides on it.
    const connection: Record<string, string> = req.httpVersionMajor >= 2 ? {} : { Connection: "close" };
    res.writeHead(400, {
      "Content-Type": "text/plain; charset=utf-8",
      "Content-Length": String(BAD_REQUEST_BODY.length),
      "Cache-Control": "no-store",
      ...connection,
    });
    res.end(BAD_REQUEST_BODY);
  }

  #upgrade(fronted: Fronted, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const target = classifyFlvRequest(req.url ?? "/", "ws");
    if (target.kind !== "bad") {
      for (const listener of fronted.upgrades) listener.call(fronted.server, req, socket, head);
      return;
    }
    this.#logRefusal("ws-flv", req.socket.remoteAddress, target.problem);
    socket.on("error", () => undefined); // the client may be gone already; nothing to report
    socket.end(
      `HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Content-Length: ${BAD_REQUEST_BODY.length}\r\n\r\n${BAD_REQUEST_BODY}`,
    );
    setTimeout(() => socket.destroy(), DESTROY_AFTER_MS).unref();
  }

  #parse(flv: Flv, buffer: Buffer, original: Flv["parserData"]): string | null {
    const session = this.#owners.ownerOf(flv);
    if (session === undefined) return parseOrRefuse(flv, buffer, original); // a parser NMS never registered
    if (this.#refusedParsers.has(flv)) return null;
    if (!session.isPublisher) {
      // NMS parses whatever a viewer sends and grows a buffer for it (up to 32 MiB); players send nothing.
      this.#cut(flv, session);
      this.#logRefusal(protocolOf(session) ?? "http-flv", session, {
        field: "body",
        reason: "data from a viewer connection",
        value: buffer,
      });
      return null;
    }
    try {
      return original.call(flv, buffer);
    } catch (error) {
      this.#cut(flv, session);
      this.#log.warn(
        { event: "nms.input_threw", protocol: protocolOf(session) ?? "flv", ip: addressOf(session), error: errorSummary(error) },
        "node-media-server threw on a connection's input; that connection was closed",
      );
      return null;
    }
  }

  #cut(flv: Flv, session: BaseSession): void {
    this.#refusedParsers.add(flv);
    try {
      closeConnection(session);
    } catch {
      // Already broken; nothing more to do.
    }
  }

  #logRefusal(protocol: string, peer: string | undefined | BaseSession, problem: InputProblem): void {
    const ip = typeof peer === "object" ? addressOf(peer) : peer === undefined ? "" : (parseIpAddress(peer)?.text ?? peer);
    this.#log.info(
      { event: "flv.refused", protocol, ip, field: problem.field, reason: problem.reason, input: loggableInput(problem.value) },
      "refused a malformed FLV request",
    );
  }
}

/** NMS's parser with a try/catch: an error string makes NMS close the session itself. */
function parseOrRefuse(flv: Flv, buffer: Buffer, original: Flv["parserData"]): string | null {
  try {
    return original.call(flv, buffer);
  } catch {
    return "refused by the input shield";
  }
}

function addressOf(session: BaseSession): string {
  return parseNmsSessionAddress(session.ip)?.text ?? "";
}
