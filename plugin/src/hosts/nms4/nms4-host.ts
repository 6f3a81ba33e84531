import type { IncomingMessage, Server as HttpServer, ServerResponse } from "node:http";
import { resolve, sep } from "node:path";
import type NodeMediaServer from "node-media-server";
import { AlreadyAttachedError, ConfigError, NmsIncompatibleError } from "../../core/errors.js";
import type { GateContext } from "../../gate/gate-context.js";
import type { HostAdapter, HostInfo, HttpFrontHandler, NodeMediaServerInstance, PublishHook, PublishWatcher } from "../host-adapter.js";
import { NmsInputShield } from "./nms-input-shield.js";
import { nms4InternalsOf, type Nms4Internals } from "./nms4-internals.js";
import { assertNmsShape, PlayGate } from "./play-gate.js";

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** The HTTP server fronted for the HLS gate, and the listeners it had. */
interface HttpFront {
  readonly server: HttpServer;
  readonly originals: RequestListener[];
  readonly listener: RequestListener;
}

/**
 * NMS keeps its sessions and broadcasts in one process-wide `Context`, so one gate per process: this
 * marker on `Context` says one is attached (a Symbol.for key, so two copies of the plugin see it).
 */
const ATTACHED = Symbol.for("nms-viewer-auth.attached");

/**
 * Nms4Host attaches the plugin to a node-media-server 4.x instance (written against 4.4.3): the input
 * shield first (malformed input is refused before NMS or any gate parses it), then the play gate on
 * NMS's broadcasts, then the HTTP front on NMS's HTTP server. NMS's HTTPS server is shielded but
 * serves no HLS.
 */
export class Nms4Host implements HostAdapter {
  readonly #nms: NodeMediaServer;
  #internals: Nms4Internals | undefined;
  #shield: NmsInputShield | undefined;
  #gate: PlayGate | undefined;
  #front: HttpFront | undefined;
  #claimed = false;

  /** `nms` is an NMS 4 instance once `probe` has proven it (`nms4InternalsOf`); nothing uses it before. */
  constructor(nms: NodeMediaServerInstance) {
    this.#nms = nms as NodeMediaServer;
  }

  /**
   * Finds the NMS copy the instance was created from (never the plugin's own resolution), checks its
   * version is the supported 4.x release, proves its internals are the instance's, and checks they
   * have the shape the gate wraps.
   */
  probe(): HostInfo {
    return { name: "node-media-server", version: this.#load().host.version };
  }

  attachPlayGate(ctx: GateContext): void {
    const internals = this.#probed();
    const marker = internals.Context as unknown as Record<symbol, boolean>;
    if (marker[ATTACHED]) throw new AlreadyAttachedError();
    marker[ATTACHED] = true;
    this.#claimed = true;
    this.#shield = new NmsInputShield(ctx.log, internals);
    this.#shield.attach(this.#nms); // first: malformed input is refused before the gates (and NMS) see it
    this.#gate = new PlayGate(ctx, internals);
    this.#gate.attach();
  }

  /**
   * Fronts NMS's HTTP server with `handler`, after checking that NMS has one and that `privateDir` is
   * out of reach of NMS's own static file route (or viewers could fetch segments around the gate).
   * Attached after the shield, so the handler's front wraps the shield's.
   */
  attachHttp(handler: HttpFrontHandler, options: { readonly privateDir: string }): void {
    const server = this.#nms.httpServer.httpServer;
    if (server === undefined) throw new NmsIncompatibleError("hls.dir is set but NMS has no HTTP server (set http.port)");
    const { Context } = this.#probed();
    const staticRoot = Context.config.static?.router !== undefined ? Context.config.static.root : undefined;
    if (staticRoot !== undefined && overlaps(resolve(staticRoot), resolve(options.privateDir))) {
      throw new ConfigError([
        {
          path: "hls.dir",
          message: `overlaps NMS's static root ${JSON.stringify(staticRoot)}: NMS would serve the segments without the gate; keep HLS output outside every static root`,
          value: options.privateDir,
        },
      ]);
    }
    const originals = server.listeners("request") as RequestListener[];
    const next = (req: IncomingMessage, res: ServerResponse) => {
      for (const listener of originals) listener.call(server, req, res);
    };
    const listener: RequestListener = (req, res) => handler(req, res, () => next(req, res));
    server.removeAllListeners("request");
    server.on("request", listener);
    this.#front = { server, originals, listener };
  }

  /**
   * Every RTMP, HTTP-FLV and WS-FLV publisher is decided by `hook` in the play gate's `postPublish`
   * wrapper (`PublishGate`), before NMS makes it the publisher and before any of its packets is forwarded.
   */
  onPublish(hook: PublishHook): void {
    if (this.#gate === undefined) throw new Error("onPublish needs the play gate attached first");
    this.#gate.setPublishHook(hook);
  }

  watchPublishes(watcher: PublishWatcher): void {
    if (this.#gate === undefined) throw new Error("watchPublishes needs the play gate attached first");
    this.#gate.watchPublishes(watcher);
  }

  setLogLevel(level: string): void {
    this.#probed().nmsLogger.level = level; // NMS's constructor forces "debug"
  }

  detach(): void {
    const front = this.#front;
    if (front !== undefined) {
      front.server.off("request", front.listener);
      for (const listener of front.originals) front.server.on("request", listener);
      this.#front = undefined;
    }
    this.#gate?.detach();
    this.#gate = undefined;
    this.#shield?.detach(); // after the HTTP front, which wraps the shield's
    this.#shield = undefined;
    if (this.#claimed && this.#internals !== undefined) (this.#internals.Context as unknown as Record<symbol, boolean>)[ATTACHED] = false;
    this.#claimed = false;
  }

  /** The internals `probe` found: every attach step runs on the instance's own copy of NMS. */
  #probed(): Nms4Internals {
    return this.#internals ?? this.#load();
  }

  #load(): Nms4Internals {
    const internals = nms4InternalsOf(this.#nms);
    assertNmsShape(internals);
    this.#internals = internals;
    return internals;
  }
}

/** The NMS 4 host adapter for `nms`. */
export function createNms4Host(nms: NodeMediaServerInstance): HostAdapter {
  return new Nms4Host(nms);
}

/** True when one folder is the other or inside it. */
function overlaps(a: string, b: string): boolean {
  return a === b || a.startsWith(b + sep) || b.startsWith(a + sep);
}
