import { createRequire } from "node:module";
import type { IncomingMessage, Server as HttpServer, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { EventEmitter } from "node:events";
import type { ChildProcess } from "node:child_process";
import { NmsIncompatibleError } from "../../core/errors.js";

/**
 * node-media-server 2.7 internals, as the adapter uses them. NMS 2.x ships no types; these describe the
 * fields of 2.7.4 (src/node_rtmp_session.js, node_flv_session.js, node_http_server.js,
 * node_trans_session.js) the adapter reads or wraps, and nothing more.
 */

/** The public NodeMediaServer 2.7 object (`new NodeMediaServer(config)`). */
export interface Nms2Server {
  readonly config: Nms2Config;
  run(): void;
  on(event: string, listener: (...args: unknown[]) => void): void;
  getSession(id: string): unknown;
  /** The HTTP server, once `run()` has made it. */
  nhs?: Nms2HttpServer;
}

export interface Nms2Config {
  rtmp?: { port?: number | string };
  http?: { port?: number | string; mediaroot?: string; webroot?: string; allow_origin?: string; api?: boolean };
  https?: { port?: number | string };
  auth?: { play?: boolean; publish?: boolean; secret?: string; api?: boolean };
  trans?: { ffmpeg?: string; tasks?: readonly Nms2TransTask[] };
  relay?: unknown;
  logType?: number;
}

export interface Nms2TransTask {
  app?: string;
  hls?: boolean;
  dash?: boolean;
  mp4?: boolean;
}

/** NMS 2.7's RTMP session (one per RTMP connection). */
export interface Nms2RtmpSession {
  readonly id: string;
  readonly ip: string | undefined;
  readonly socket: Socket;
  readonly TAG: "rtmp";
  isStarting: boolean;
  isPlaying: boolean;
  isIdling: boolean;
  isPublishing: boolean;
  appname: string;
  playStreamId: number;
  playStreamPath: string;
  connectCmdObj?: { tcUrl?: unknown; flashVer?: unknown; app?: unknown };
  parserPacket: { header: { stream_id: number } };
  sendStatusMessage(sid: number, level: string, code: string, description: string): void;
  onPlay(invokeMessage: { streamName?: unknown }): void;
  reject(): void;
  stop(): void;
}

/** NMS 2.7's HTTP-FLV or WS-FLV session; `res` is the express response or the WebSocket. */
export interface Nms2FlvSession {
  readonly id: string;
  readonly ip: string | undefined;
  readonly req: IncomingMessage & { nmsConnectionType?: "http" | "ws" };
  readonly res: ServerResponse | Nms2WebSocket;
  readonly TAG: "http-flv" | "websocket-flv";
  isStarting: boolean;
  isPlaying: boolean;
  isIdling: boolean;
  playStreamPath: string;
  playArgs: Record<string, string | string[] | undefined> | null;
  onPlay(): void;
  reject(): void;
  stop(): void;
}

/** The `ws` WebSocket NMS hands a WS-FLV session (NMS replaces its `write`/`end`). */
export interface Nms2WebSocket {
  readonly readyState: number;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

export interface Nms2HttpServer {
  readonly httpServer: HttpServer;
  readonly httpsServer?: unknown;
  readonly mediaroot: string;
  run(): void;
}

/** A trans or relay session: the ffmpeg NMS spawned for it. */
export interface Nms2FfmpegSession {
  ffmpeg_exec?: ChildProcess;
  run(): void;
}

type Constructor<T> = { prototype: T; name: string };

/** Everything the adapter needs from one NMS 2.7 copy: the one that made the instance. */
export interface Nms2Internals {
  /** The version in that copy's package.json. */
  readonly version: string;
  /** Where that copy's `src/` lies (for messages). */
  readonly srcDir: string;
  /** NMS's process-wide registry (`node_core_ctx.js`). */
  readonly context: { readonly sessions: Map<string, unknown>; readonly publishers: Map<string, string>; readonly nodeEvent: EventEmitter };
  readonly NodeRtmpSession: Constructor<Nms2RtmpSession>;
  readonly NodeFlvSession: Constructor<Nms2FlvSession>;
  readonly NodeHttpServer: Constructor<Nms2HttpServer>;
  readonly NodeTransSession: Constructor<Nms2FfmpegSession>;
  readonly NodeRelaySession: Constructor<Nms2FfmpegSession>;
}

/**
 * The NMS 2.7 internals behind `nms`, loaded from the very copy of node-media-server whose module defines
 * the instance's constructor, never by package name: an app has it as `node-media-server`, this
 * project's tests as the alias `node-media-server-2`, and a second copy beside the app's would be a
 * registry the app's server never uses. Returns undefined when `nms` was not made by a CommonJS
 * node-media-server module this process loaded (then it is not a 2.x instance).
 */
export function nms2InternalsOf(nms: object): Nms2Internals | undefined {
  const file = moduleFileOf(nms.constructor);
  if (file === undefined) return undefined;
  const load = createRequire(file);
  const pkg = load("../package.json") as { name?: unknown; version?: unknown };
  if (pkg.name !== "node-media-server" || typeof pkg.version !== "string" || !pkg.version.startsWith("2.")) return undefined;
  const srcDir = file.slice(0, file.lastIndexOf("/") + 1);
  try {
    return {
      version: pkg.version,
      srcDir,
      context: load("./node_core_ctx.js") as Nms2Internals["context"],
      NodeRtmpSession: load("./node_rtmp_session.js") as Constructor<Nms2RtmpSession>,
      NodeFlvSession: load("./node_flv_session.js") as Constructor<Nms2FlvSession>,
      NodeHttpServer: load("./node_http_server.js") as Constructor<Nms2HttpServer>,
      NodeTransSession: load("./node_trans_session.js") as Constructor<Nms2FfmpegSession>,
      NodeRelaySession: load("./node_relay_session.js") as Constructor<Nms2FfmpegSession>,
    };
  } catch (error) {
    throw new NmsIncompatibleError(`node-media-server ${pkg.version} at ${srcDir} lacks a 2.7 module (${(error as Error).message})`);
  }
}

/** The file of the CommonJS module whose export is `constructor`, from Node's module cache. */
function moduleFileOf(constructor: unknown): string | undefined {
  if (typeof constructor !== "function") return undefined;
  const cache = createRequire(import.meta.url).cache;
  for (const module of Object.values(cache)) {
    if (module?.exports === constructor && module.filename.endsWith("/src/node_media_server.js")) return module.filename;
  }
  return undefined;
}
