import { resolve, sep } from "node:path";
import { AlreadyAttachedError, ConfigError, NmsIncompatibleError } from "../../core/errors.js";
import type { GateContext } from "../../gate/gate-context.js";
import type { HostAdapter, HostInfo, HttpFrontHandler, PublishHook, PublishWatcher } from "../host-adapter.js";
import { spliceHttpFront, unspliceHttpFront, type SplicedFront } from "./nms2-http-front.js";
import type { Nms2FfmpegSession, Nms2HttpServer, Nms2Internals, Nms2Server } from "./nms2-internals.js";
import { Nms2PlayGate } from "./nms2-play-gate.js";
import { Nms2PublishGate } from "./nms2-publish-gate.js";
import { NmsChildren } from "./own-children.js";
import { assertBoundableWsModule, WsMessageBound } from "../ws-message-bound.js";

/** `log.nmsLevel` as NMS 2.7's `logType` (0 none, 1 error, 2 normal, 3 debug, 4 ffdebug). */
const NMS2_LOG_TYPES: Readonly<Record<string, number>> = { silent: 0, fatal: 1, error: 1, warn: 1, info: 2, debug: 3, trace: 4 };

/** Marker on NMS 2.7's process-wide context: one gate per process (a Symbol.for key, seen by every copy of the plugin). */
const ATTACHED = Symbol.for("nms-viewer-auth.attached");

/**
 * Nms2Host attaches the plugin to a node-media-server 2.7 instance (written against 2.7.4), using the
 * internals of the copy that made the instance (`nms2InternalsOf`): the play gate on the RTMP and FLV
 * session prototypes, the publish hook on NMS's `prePublish` event, and the HLS gate in place of NMS's
 * static `mediaroot` route. NMS 2.7 builds its HTTP server in `run()`; attached before, the front
 * goes in as NMS's HTTP server starts (before it listens), attached after, at once.
 */
export class Nms2Host implements HostAdapter {
  readonly #nms: Nms2Server;
  readonly #internals: Nms2Internals;
  readonly #children = new NmsChildren();
  #gate: Nms2PlayGate | undefined;
  #publish: Nms2PublishGate | undefined;
  #front: SplicedFront | undefined;
  #wsMessages: WsMessageBound | undefined;
  #restore: (() => void)[] = [];
  #claimed = false;

  /** `nms` must have been made by the NMS copy `internals` come from (`nms2InternalsOf`). */
  constructor(nms: Nms2Server, internals: Nms2Internals) {
    this.#nms = nms;
    this.#internals = internals;
  }

  /** The version was checked when the internals were found (`nms2InternalsOf`); this checks their shape. */
  probe(): HostInfo {
    const { version } = this.#internals.host;
    for (const [name, cls, method] of [
      ["NodeRtmpSession", this.#internals.NodeRtmpSession, "onPlay"],
      ["NodeFlvSession", this.#internals.NodeFlvSession, "onPlay"],
      ["NodeHttpServer", this.#internals.NodeHttpServer, "run"],
      ["NodeTransSession", this.#internals.NodeTransSession, "run"],
      ["NodeRelaySession", this.#internals.NodeRelaySession, "run"],
      ["NodeFissionSession", this.#internals.NodeFissionSession, "run"],
    ] as const) {
      if (typeof (cls.prototype as unknown as Record<string, unknown>)[method] !== "function")
        throw new NmsIncompatibleError(`${name}.prototype.${method} is not a function`);
    }
    if (!(this.#internals.context.sessions instanceof Map)) throw new NmsIncompatibleError("node_core_ctx.sessions is not a Map");
    return { name: "node-media-server", version };
  }

  /**
   * NMS 2.7 serves `http.mediaroot` (default `./media`, where its `trans` ffmpeg writes HLS) to anyone:
   * with no `hls.dir` in the plugin's configuration, that is the folder the HLS gate takes over.
   */
  hostHlsDir(): string | null {
    const http = this.#nms.config.http;
    return http === undefined ? null : resolve(http.mediaroot ?? "./media");
  }

  attachPlayGate(ctx: GateContext): void {
    const marker = this.#internals.context as unknown as Record<symbol, boolean>;
    if (marker[ATTACHED]) throw new AlreadyAttachedError();
    marker[ATTACHED] = true;
    this.#claimed = true;
    this.#recordChildren(this.#internals.NodeTransSession.prototype);
    this.#recordChildren(this.#internals.NodeRelaySession.prototype);
    this.#recordChildren(this.#internals.NodeFissionSession.prototype);
    this.#gate = new Nms2PlayGate(ctx, this.#internals, this.#children);
    this.#gate.attach();
    this.#publish = new Nms2PublishGate(this.#internals, ctx.log);
    this.#publish.attach();
    this.#boundWsMessages(new WsMessageBound(ctx.log, () => false)); // NMS 2.7's WS-FLV only plays
  }

  attachHttp(handler: HttpFrontHandler, options: { readonly privateDir: string }): void {
    const config = this.#nms.config;
    if (config.http === undefined) throw new NmsIncompatibleError("hls.dir is set but NMS has no HTTP server (set http.port)");
    this.#checkStaticRoots(resolve(options.privateDir));
    const running = this.#nms.nhs;
    if (running !== undefined) {
      this.#front = spliceHttpFront(running, config, handler);
      return;
    }
    // Not yet running: splice as NMS's HTTP server starts, before it listens (a failure then stops the listen).
    const proto = this.#internals.NodeHttpServer.prototype;
    const originalRun = proto.run;
    const host = this; // the wrapper runs with NMS's HTTP server as `this`
    proto.run = function gatedRun(this: Nms2HttpServer) {
      if (host.#front === undefined) host.#front = spliceHttpFront(this, config, handler);
      originalRun.call(this);
    };
    this.#restore.push(() => (proto.run = originalRun));
  }

  onPublish(hook: PublishHook): void {
    this.#publish?.setHook(hook);
  }

  watchPublishes(watcher: PublishWatcher): void {
    this.#publish?.watch(watcher);
  }

  /**
   * Sets NMS 2.7's process-wide log type from `log.nmsLevel`: at the default `warn` NMS logs errors only,
   * so its per-connection lines, which print the play query (a viewer's token), stay out of its log. An
   * app's own `config.logType` is applied again by NMS's `run()` and wins until a reload.
   */
  setLogLevel(level: string): void {
    this.#internals.logger.setLogType(NMS2_LOG_TYPES[level] ?? 1);
  }

  detach(): void {
    if (this.#front !== undefined) unspliceHttpFront(this.#front);
    this.#front = undefined;
    for (const restore of this.#restore.splice(0).reverse()) restore();
    this.#gate?.detach();
    this.#gate = undefined;
    this.#publish?.detach();
    this.#publish = undefined;
    this.#wsMessages?.unbound();
    this.#wsMessages = undefined;
    if (this.#claimed) (this.#internals.context as unknown as Record<symbol, boolean>)[ATTACHED] = false;
    this.#claimed = false;
  }

  /**
   * Bounds each WS-FLV message (`WsMessageBound`): NMS 2.7 makes its ws servers without `maxPayload` (ws's
   * 100 MiB) in its HTTP server's `run()`. Running already: bounded at once; else as `run()` makes them,
   * after proving now that the ws module NMS's copy loads is one the bound knows.
   */
  #boundWsMessages(bound: WsMessageBound): void {
    this.#wsMessages = bound;
    const running = this.#nms.nhs;
    if (running !== undefined) {
      boundWsServersOf(running, bound);
      return;
    }
    const proto = this.#internals.NodeHttpServer.prototype;
    const originalRun = proto.run;
    if (!/this\.wsServer\s*=\s*new WebSocket\.Server\(/.test(String(originalRun)))
      throw new NmsIncompatibleError("NodeHttpServer.prototype.run does not make this.wsServer");
    assertBoundableWsModule(this.#internals.host.require("ws"));
    proto.run = function boundedRun(this: Nms2HttpServer) {
      originalRun.call(this);
      boundWsServersOf(this, bound);
    };
    this.#restore.push(() => (proto.run = originalRun));
  }

  /** Records every ffmpeg a trans, relay or fission session of this NMS spawns (the only loopback players let in without a session). */
  #recordChildren(proto: Nms2FfmpegSession): void {
    const originalRun = proto.run;
    const children = this.#children;
    proto.run = function recordedRun(this: Nms2FfmpegSession) {
      originalRun.call(this);
      children.record(this.ffmpeg_exec);
    };
    this.#restore.push(() => (proto.run = originalRun));
  }

  /** NMS also serves its own `public` folder and `http.webroot`: neither may reach the HLS folder. */
  #checkStaticRoots(privateDir: string): void {
    const roots = [
      resolve(this.#internals.srcDir, "public"),
      ...(this.#nms.config.http?.webroot ? [resolve(this.#nms.config.http.webroot)] : []),
    ];
    for (const root of roots) {
      if (!overlaps(root, privateDir)) continue;
      throw new ConfigError([
        {
          path: "hls.dir",
          message: `overlaps NMS's static root ${JSON.stringify(root)} (http.webroot or NMS's public folder): NMS would serve the HLS files without the gate; keep http.webroot apart from http.mediaroot`,
          value: privateDir,
        },
      ]);
    }
  }
}

/** Bounds NMS 2.7's ws servers (`wsServer` always, `wssServer` with HTTPS); a running HTTP server without one is not 2.7.4's. */
function boundWsServersOf(server: Nms2HttpServer, bound: WsMessageBound): void {
  if (server.wsServer === undefined) throw new NmsIncompatibleError("NMS 2.7's running HTTP server has no wsServer");
  bound.bound(server.wsServer);
  if (server.wssServer !== undefined) bound.bound(server.wssServer);
}

function overlaps(a: string, b: string): boolean {
  return a === b || a.startsWith(b + sep) || b.startsWith(a + sep);
}
