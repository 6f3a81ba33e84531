import { join } from "node:path";
import type { IncomingMessage, Server as HttpServer, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { EventEmitter } from "node:events";
import type { ChildProcess } from "node:child_process";
import { NmsIncompatibleError, NmsInstanceError, NmsUnsupportedVersionError } from "../../core/errors.js";
import { hostPackageOf, isSupportedNmsVersion, SUPPORTED_NMS_RANGE, type HostPackage } from "../host-package.js";

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
  connectCmdObj?: { tcUrl?: unknown; flashVer?: unknown; app?: unknown; pageUrl?: unknown };
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
  /** The ws WebSocketServers of WS-FLV, made by `run()`. */
  readonly wsServer?: unknown;
  readonly wssServer?: unknown;
  readonly mediaroot: string;
  run(): void;
}

/** A trans, relay or fission session: the ffmpeg NMS spawned for it. */
export interface Nms2FfmpegSession {
  ffmpeg_exec?: ChildProcess;
  run(): void;
}

type Constructor<T> = { prototype: T; name: string };

/** Everything the adapter needs from one NMS 2.7 copy: the one that made the instance. */
export interface Nms2Internals {
  /** The copy they come from: its folder and version. */
  readonly host: HostPackage;
  /** Where that copy's `src/` lies (its own `public` folder is beside the modules). */
  readonly srcDir: string;
  /** NMS's process-wide registry (`node_core_ctx.js`). */
  readonly context: { readonly sessions: Map<string, unknown>; readonly publishers: Map<string, string>; readonly nodeEvent: EventEmitter };
  readonly NodeMediaServer: unknown;
  /** NMS's logger (`node_core_logger.js`): one log type for the process. */
  readonly logger: { setLogType(type: number): void };
  readonly NodeRtmpSession: Constructor<Nms2RtmpSession>;
  readonly NodeFlvSession: Constructor<Nms2FlvSession>;
  readonly NodeHttpServer: Constructor<Nms2HttpServer>;
  readonly NodeTransSession: Constructor<Nms2FfmpegSession>;
  readonly NodeRelaySession: Constructor<Nms2FfmpegSession>;
  readonly NodeFissionSession: Constructor<Nms2FfmpegSession>;
}

/** The node-media-server line the NMS 2.7 adapter is written for. */
const NMS2_LINE = /^2\.7\./;

/**
 * The NMS 2.7 internals of the copy `nms` was created from (`hostPackageOf`: the package whose module
 * defines the instance's class), never loaded by package name: an app has it as `node-media-server`,
 * this project's tests as the alias `node-media-server-2`, and a copy beside the app's would be a
 * registry the app's server never uses. Throws NmsUnsupportedVersionError for another release,
 * NmsInstanceError when that copy's `NodeMediaServer` is not the instance's class.
 */
export function nms2InternalsOf(nms: object, host: HostPackage = hostPackageOf(nms)): Nms2Internals {
  if (!NMS2_LINE.test(host.version) || !isSupportedNmsVersion(host.version))
    throw new NmsUnsupportedVersionError(host.version, SUPPORTED_NMS_RANGE);
  const internals = loadNms2Internals(host);
  if (!(nms instanceof (internals.NodeMediaServer as new () => object)))
    throw new NmsInstanceError(`the instance is not a NodeMediaServer of ${host.root}`);
  return internals;
}

/** Loads the internals from one installed 2.7 copy. */
export function loadNms2Internals(host: HostPackage): Nms2Internals {
  const load = (file: string): unknown => host.require(`./src/${file}`);
  try {
    return {
      host,
      srcDir: join(host.root, "src"),
      context: load("node_core_ctx.js") as Nms2Internals["context"],
      NodeMediaServer: load("node_media_server.js"),
      logger: load("node_core_logger.js") as Nms2Internals["logger"],
      NodeRtmpSession: load("node_rtmp_session.js") as Constructor<Nms2RtmpSession>,
      NodeFlvSession: load("node_flv_session.js") as Constructor<Nms2FlvSession>,
      NodeHttpServer: load("node_http_server.js") as Constructor<Nms2HttpServer>,
      NodeTransSession: load("node_trans_session.js") as Constructor<Nms2FfmpegSession>,
      NodeRelaySession: load("node_relay_session.js") as Constructor<Nms2FfmpegSession>,
      NodeFissionSession: load("node_fission_session.js") as Constructor<Nms2FfmpegSession>,
    };
  } catch (error) {
    throw new NmsIncompatibleError(`node-media-server ${host.version} at ${host.root} lacks a 2.7 module (${(error as Error).message})`);
  }
}
