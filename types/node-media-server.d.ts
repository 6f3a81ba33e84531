// Ambient types for the parts of node-media-server 4.4.3 this project touches. NMS ships no types,
// and @types/node-media-server describes the incompatible 2.x line.

declare module "node-media-server" {
  import type { Server as HttpServer } from "node:http";
  import type { Server as NetServer } from "node:net";

  export interface NmsConfig {
    bind?: string;
    rtmp?: { port?: number | string };
    http?: { port?: number | string };
    https?: { port?: number | string; key?: string; cert?: string };
    rtmps?: { port?: number | string; key?: string; cert?: string };
    record?: { path?: string; auto?: boolean };
    store?: { path?: string; flushInterval?: number };
    static?: { router?: string; root?: string };
    webadmin?: { enable?: boolean };
    auth?: { play?: boolean; publish?: boolean; secret?: string; jwt?: unknown };
    notify?: { url?: string };
  }

  class NodeMediaServer {
    constructor(config: NmsConfig, configPath?: string);
    on(event: string, listener: (session: import("node-media-server/src/session/base_session.js")) => void): void;
    run(): Promise<void>;
    stop(): Promise<void>;
    /** `httpsServer` is an HTTP/2 server that also speaks HTTP/1.1 (`allowHTTP1`), with WebSocket upgrades. */
    httpServer: { httpServer?: HttpServer; httpsServer?: import("node:http2").Http2SecureServer; wsServer?: unknown };
    rtmpServer: { tcpServer?: NetServer; tlsServer?: NetServer };
    /** The LightweightStore the constructor also puts in Context.store (proves which Context is the instance's). */
    store?: object;
  }
  export = NodeMediaServer;
}

declare module "node-media-server/src/session/base_session.js" {
  import type { Socket } from "node:net";
  import type { IncomingMessage, ServerResponse } from "node:http";

  class BaseSession {
    id: string;
    ip: string;
    protocol: "rtmp" | "flv" | "rtsp" | "";
    isPublisher: boolean;
    streamHost: string;
    streamApp: string;
    streamName: string;
    streamPath: string;
    streamQuery: Record<string, string | string[] | undefined>;
    createTime: number;
    endTime: number;
    inBytes: number;
    outBytes: number;
    sendBuffer(buffer: Buffer): void;
    close(): void;
    // RTMP sessions
    socket?: Socket;
    rtmp?: {
      streamId: number;
      /** Where the parser hands each media message: the session's broadcast (set for every connection). */
      onPacketCallback: (packet: unknown) => void;
      connectCmdObj?: { tcUrl?: string; flashVer?: string; app?: string; pageUrl?: unknown };
      sendStatusMessage(sid: number, level: string, code: string, description: string): void;
    };
    // FLV sessions: the FLV tag parser; res is an express Response or a ws WebSocket
    flv?: object;
    req?: IncomingMessage & { originalUrl?: string };
    res?: ServerResponse | import("ws").WebSocket;
  }
  export = BaseSession;
}

declare module "node-media-server/src/server/broadcast_server.js" {
  import type BaseSession from "node-media-server/src/session/base_session.js";
  class BroadcastServer {
    constructor(streamPath: string);
    streamPath: string;
    publisher: BaseSession | null;
    subscribers: Map<string, BaseSession>;
    /** The video sequence header every new RTMP viewer is sent first. */
    rtmpVideoHeader: Buffer | null;
    postPlay: (session: BaseSession) => string | null;
    donePlay: (session: BaseSession) => void;
    postPublish: (session: BaseSession) => string | null;
    /** "publishing" while a publisher is live; "reconnecting" in the grace window after it left. */
    getPublishStatus: () => "publishing" | "reconnecting" | "idle";
  }
  export = BroadcastServer;
}

declare module "node-media-server/src/core/context.js" {
  import type { EventEmitter } from "node:events";
  import type BaseSession from "node-media-server/src/session/base_session.js";
  import type BroadcastServer from "node-media-server/src/server/broadcast_server.js";
  const Context: {
    config: import("node-media-server").NmsConfig;
    sessions: Map<string, BaseSession>;
    broadcasts: Map<string, BroadcastServer>;
    eventEmitter: EventEmitter;
    store?: object;
  };
  export = Context;
}

declare module "node-media-server/src/core/logger.js" {
  /** NMS's one logger (core/logger.js): `log` prints `[time] [LEVEL] message` with console.log when `logLevel` is at or above `level`. */
  const logger: { level: string; levels: string[]; log(message: string, logLevel?: string): void };
  export = logger;
}

declare module "node-media-server/src/protocol/rtmp.js" {
  /** One chunk stream's message being read (protocol/rtmp.js RtmpPacket). */
  interface RtmpPacket {
    header: { fmt: number; cid: number; timestamp: number; length: number; type: number; stream_id: number };
    clock: number;
    payload: Buffer;
    capacity: number;
    bytes: number;
  }
  /** The server side of one RTMP connection: handshake, chunk parser and command handlers. */
  class Rtmp {
    parserPacket: RtmpPacket;
    inPackets: Map<number, RtmpPacket>;
    inChunkSize: number;
    streamApp?: string;
    parserData(buffer: Buffer): string | null;
    packetParse(): void;
    packetAlloc(): void;
    controlHandler(): void;
    invokeHandler(): void;
    dataHandler(): void;
    sendStatusMessage(sid: number, level: string, code: string, description: string): void;
  }
  export = Rtmp;
}

declare module "node-media-server/src/protocol/amf.js" {
  /** Decodes an AMF0 command into `{ cmd, transId, cmdObj, … }` by the command's known field names; throws on malformed input. */
  export function decodeAmf0Cmd(buffer: Buffer): Record<string, unknown>;
  /** Decodes an AMF0 data message (`@setDataFrame`, `onMetaData`…); throws on malformed input. */
  export function decodeAmf0Data(buffer: Buffer): Record<string, unknown>;
}

declare module "node-media-server/src/protocol/flv.js" {
  /** An FLV tag parser (protocol/flv.js), fed by HTTP-FLV and WS-FLV sessions. */
  class Flv {
    parserData(buffer: Buffer): string | null;
    /** The tag being parsed; 1 MiB, zeroed, from the constructor on, grown when a tag is larger than it. */
    parserTagData: Buffer;
    /** The size of `parserTagData`; a tag larger than it makes the parser allocate `2 × size` and copy. */
    parserTagCapacity: number;
    /** Bytes of the current tag copied so far. */
    parserTagBytes: number;
  }
  export = Flv;
}

declare module "node-media-server/src/session/rtmp_client_session.js" {
  import BaseSession from "node-media-server/src/session/base_session.js";
  /** NMS's relay over RTMP (server/relay_server.js): it pulls a remote stream and publishes it locally, or pushes one out. */
  class RtmpClientSession extends BaseSession {
    constructor(config: { url: string; mode?: "pull" | "push"; streamPath: string; reconnect?: boolean });
  }
  export = RtmpClientSession;
}

declare module "node-media-server/src/session/rtsp_client_session.js" {
  import BaseSession from "node-media-server/src/session/base_session.js";
  /** NMS's relay from RTSP (server/relay_server.js): it pulls a remote stream and publishes it locally. */
  class RtspClientSession extends BaseSession {}
  export = RtspClientSession;
}
