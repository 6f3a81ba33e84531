import type { IncomingMessage, ServerResponse } from "node:http";
import type { GateContext } from "../gate/gate-context.js";
import type { TcpEndpoints } from "../net/process-proof.js";

/**
 * An HTTP handler that stands in front of the host's own: it answers the request, or calls `next`
 * to hand it to the host unchanged (the HLS gate's `handle`).
 */
export type HttpFrontHandler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/**
 * A media server instance as the app created it (`new NodeMediaServer(config)`). Typed as any object
 * on purpose: the supported lines have different shapes, and which copy and release an instance
 * comes from is proven at attach (`hosts/host-package.ts`), which refuses anything else. It also keeps
 * node-media-server's types (it ships none) out of the plugin's public declarations.
 */
export type NodeMediaServerInstance = object;

/** Which server an adapter drives, as its probe found it. */
export interface HostInfo {
  /** The server's name, e.g. `node-media-server`. */
  readonly name: string;
  /** The version the adapter was written for and found, e.g. `4.4.3`. */
  readonly version: string;
}

/** What a host tells the publish hook about a publisher that starts. */
export interface PublishStart {
  readonly app: string;
  readonly channel: string;
  /**
   * The publisher's address as text; "" when unknown. Over HTTP (HTTP-FLV, WS-FLV) it is resolved like
   * a viewer's: behind one of `auth.trustedProxies`, the address the proxy reports in X-Forwarded-For,
   * and "" when it reports none. RTMP carries no such header: the socket's address.
   */
  readonly ip: string;
  /** How the publisher connected. */
  readonly protocol: "rtmp" | "flv" | "ws-flv";
  /**
   * An RTMP publisher's TCP ports as the server sees them, for the proof that a loopback publisher is
   * one of the server's own processes (net/process-proof.ts). Adapters that cannot tell leave it out.
   */
  readonly connection?: TcpEndpoints;
  /** The publish URL's query parameters (the stream name's `?…` part), first value of each key. */
  readonly query: Readonly<Record<string, string>>;
  /**
   * True when the name already has a live publisher. The adapter refuses such a publisher whatever the
   * hook answers; it says so here for the hook's audit. Optional: an adapter that cannot tell leaves it out.
   */
  readonly live?: boolean;
}

/** A publisher the host accepted, as its start and its end are reported (the same object for both). */
export interface PublishedStreamInfo {
  readonly app: string;
  readonly channel: string;
  /** The publisher's address as the publish hook saw it; "" when unknown. */
  readonly ip: string;
  readonly protocol: "rtmp" | "flv" | "ws-flv";
}

/** Told when an accepted publisher starts and when it stops (webhook events); must not throw or block. */
export interface PublishWatcher {
  started(stream: PublishedStreamInfo): void;
  ended(stream: PublishedStreamInfo): void;
}

/** The publish hook's answer: `reason` is for the audit log, never sent to the publisher. */
export type PublishVerdict = { readonly allow: true } | { readonly allow: false; readonly reason: string };

/**
 * Decides a publisher that starts. Synchronous on purpose: the host asks it before the publisher's
 * first media packet can reach a viewer, in the same turn as the host's own publish event.
 */
export type PublishHook = (publish: PublishStart) => PublishVerdict;

/**
 * HostAdapter is the seam between the plugin and one media server line: everything that knows a
 * server's internals (how a play is held until the chain answers, where its HTTP requests arrive, how
 * its connections are refused and cut) sits behind it, in `hosts/<server>/`. The plugin's gates,
 * chain and sessions stay the same whatever the host. Attach methods are called once each, in the
 * order listed, before the host serves; `detach` undoes whatever was attached, also after an attach
 * threw halfway.
 */
export interface HostAdapter {
  /**
   * Checks that the server is the one this adapter was written for and returns what it found.
   * Throws (NmsIncompatibleError or the like) before anything is changed when it is not.
   */
  probe(): HostInfo;
  /**
   * Holds every play the host serves itself (RTMP, FLV and the like) until the gate context's chain
   * has answered, admitting each with `admit`, and cuts sessions the store closes. Throws
   * AlreadyAttachedError when the server allows one gate per process and one is attached.
   */
  attachPlayGate(ctx: GateContext): void;
  /**
   * The folder the host itself writes HLS to and would otherwise serve to anyone (NMS 2.7's
   * `http.mediaroot`, where its `trans` ffmpeg writes), or null. With no `hls.dir` configured the
   * plugin gates this folder: an operator who adds only the attach call gets gated HLS, never open HLS.
   * Hosts that write no HLS leave it out.
   */
  hostHlsDir?(): string | null;
  /**
   * Puts `handler` in front of the host's HTTP requests. `privateDir` is a folder only the handler
   * may serve (the HLS output): throws a ConfigError when the host would serve it itself, around the
   * gate, and an error when the host has no HTTP server.
   */
  attachHttp(handler: HttpFrontHandler, options: { readonly privateDir: string }): void;
  /**
   * Registers the hook that decides every publisher the host accepts (RTMP and FLV publish alike).
   * The adapter calls it before any packet of the publisher is forwarded; on deny it cuts the
   * connection and forwards none of its packets. It also refuses, the same way, a second publisher on
   * a name that is live (no take-over, no mixing). Called at most once, after `attachPlayGate`.
   */
  onPublish(hook: PublishHook): void;
  /**
   * Reports every publisher the host accepted (after the publish hook and the host's own checks) and its
   * end. Optional: a host that cannot tell leaves it out. Called at most once, after `onPublish`.
   */
  watchPublishes?(watcher: PublishWatcher): void;
  /** Sets the host's own log level (`log.nmsLevel`), at attach and on a reload. */
  setLogLevel(level: string): void;
  /** Gives the host back its own play path and request handling. Safe to call twice. */
  detach(): void;
}
