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
    httpServer: { httpServer?: HttpServer; wsServer?: unknown };
    rtmpServer: { tcpServer?: NetServer };
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
      connectCmdObj?: { tcUrl?: string; flashVer?: string; app?: string };
      sendStatusMessage(sid: number, level: string, code: string, description: string): void;
    };
    // FLV sessions: res is an express Response or a ws WebSocket
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
    postPlay: (session: BaseSession) => string | null;
    donePlay: (session: BaseSession) => void;
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
  };
  export = Context;
}

declare module "node-media-server/src/core/logger.js" {
  const logger: { level: string };
  export = logger;
}
