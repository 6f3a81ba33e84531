import type BroadcastServer from "node-media-server/src/server/broadcast_server.js";
import type BaseSession from "node-media-server/src/session/base_session.js";
import type { Logger } from "../../core/log.js";
import { parseIpAddress, parseNmsSessionAddress } from "../../net/ip-address.js";
import { resolvePublisherAddress } from "../../net/client-address.js";
import { tcpEndpointsOf } from "../../net/process-proof.js";
import type { IpRuleList } from "../../net/ip-rule-list.js";
import type { PublishedStreamInfo, PublishHook, PublishStart, PublishVerdict, PublishWatcher } from "../host-adapter.js";
import { protocolOf, refusePlay } from "./nms-connection.js";
import type { Nms4Internals } from "./nms4-internals.js";

type PostPublish = (session: BaseSession) => string | null;

/** What NMS is told when the gate refuses a publish (it logs it and ends the connection too). */
const REFUSED = "viewer authorization: publish refused";
/** How the refusal is answered over HTTP-FLV and WS-FLV: 403 / close 4403, no reason sent. */
const REFUSED_DECISION = { verdict: "deny", step: "default", reason: "publish refused", latencyMs: 0 } as const;
/** How long a refused publisher's connection may stay half-closed so its refusal reaches it. */
const DESTROY_AFTER_MS = 1000;

/**
 * PublishGate decides each publisher in NMS 4.4.3's `BroadcastServer.postPublish`, which every RTMP,
 * HTTP-FLV and WS-FLV publish goes through (session/rtmp_session.js, flv_session.js `onPush`) before
 * NMS makes the session the stream's publisher. The hook is asked first, synchronously; a name that
 * is live already is refused whatever it answers. NMS's own checks (its `auth.publish` sign, a taken
 * name) run only after an allow. Every refusal, ours or NMS's, cuts the publisher so that none of its
 * packets is forwarded:
 *
 * - RTMP: NMS wires the connection's packet callback to the broadcast unconditionally and answers
 *   `NetStream.Publish.Start` before `postPublish` runs, so a refused publisher's media would still
 *   reach viewers (docs/nms-shields.md). The callback is replaced by a no-op, the socket stops being
 *   read, gets `NetStream.Publish.Failed` and is closed, then destroyed.
 * - HTTP-FLV / WS-FLV: NMS sets the packet callback only after a successful publish; the publisher gets
 *   403 (WebSocket: close 4403) instead of NMS's empty 200, and the connection is closed.
 *
 * The publisher's address is judged like a viewer's: an HTTP-FLV or WS-FLV publish relayed by one of
 * `auth.trustedProxies` has the address the proxy reports in X-Forwarded-For, and none (refused unless
 * signed) when the proxy reports none. RTMP carries no such header: an RTMP publisher has its socket's.
 *
 * Without a hook every publish is refused: the gate does not fail open.
 */
export class PublishGate {
  readonly #log: Logger;
  readonly #nms4: Nms4Internals;
  readonly #trustedProxies: () => IpRuleList;
  #hook: PublishHook | undefined;
  #watcher: PublishWatcher | undefined;
  /** Accepted publishers by stream path, until NMS's `donePublish` (after its resume window). */
  readonly #live = new Map<string, PublishedStreamInfo>();
  readonly #onDonePublish = (session: BaseSession) => this.#donePublish(session);

  /** `trustedProxies` is read at every publish (a reload replaces the list). */
  constructor(log: Logger, nms4: Nms4Internals, trustedProxies: () => IpRuleList) {
    this.#log = log;
    this.#nms4 = nms4;
    this.#trustedProxies = trustedProxies;
  }

  setHook(hook: PublishHook): void {
    this.#hook = hook;
  }

  /**
   * Reports accepted publishers and their end. NMS 4.4.3 keeps a publish open for 30 s after its
   * publisher leaves (the same address may resume it): the end is NMS's own `donePublish` event, after
   * that window, and a resumed publish is the same publish (no second start).
   */
  watch(watcher: PublishWatcher): void {
    if (this.#watcher === undefined) this.#nms4.Context.eventEmitter.on("donePublish", this.#onDonePublish);
    this.#watcher = watcher;
  }

  detach(): void {
    this.#nms4.Context.eventEmitter.off("donePublish", this.#onDonePublish);
    this.#watcher = undefined;
    this.#live.clear();
  }

  /** The `postPublish` NMS calls instead of `original` on `broadcast`. */
  postPublish(broadcast: BroadcastServer, original: PostPublish, session: BaseSession): string | null {
    if (isServerOwn(session, this.#nms4)) return original(session);
    const live = broadcast.getPublishStatus() === "publishing";
    const verdict = this.#verdict(session, live);
    if (!verdict.allow || live) {
      refusePublish(broadcast, session, this.#nms4.Context);
      return REFUSED;
    }
    const error = original(session);
    if (error === null) this.#started(session, verdict);
    if (error !== null) {
      this.#log.info(
        { event: "publish.nms_refused", app: session.streamApp, channel: session.streamName, ip: addressOf(session), reason: error },
        "node-media-server refused an allowed publisher; cut",
      );
      refusePublish(broadcast, session, this.#nms4.Context);
    }
    return error;
  }

  #started(session: BaseSession, verdict: PublishVerdict & { start?: PublishStart }): void {
    const start = verdict.start;
    if (this.#watcher === undefined || start === undefined || this.#live.has(session.streamPath)) return;
    const info: PublishedStreamInfo = { app: start.app, channel: start.channel, ip: start.ip, protocol: start.protocol };
    this.#live.set(session.streamPath, info);
    this.#report(() => this.#watcher?.started(info));
  }

  #donePublish(session: BaseSession): void {
    const info = this.#live.get(session.streamPath);
    if (info === undefined) return;
    this.#live.delete(session.streamPath);
    this.#report(() => this.#watcher?.ended(info));
  }

  #report(action: () => void): void {
    try {
      action();
    } catch (error) {
      this.#log.error({ event: "publish.watcher_failed", err: error }, "the publish watcher threw");
    }
  }

  #verdict(session: BaseSession, live: boolean): PublishVerdict & { start?: PublishStart } {
    const hook = this.#hook;
    const start = publishStartOf(session, live, this.#trustedProxies());
    if (hook === undefined || start === null)
      return { allow: false, reason: hook === undefined ? "no publish policy" : "unsupported protocol" };
    try {
      return { ...hook(start), start };
    } catch (error) {
      this.#log.error({ event: "publish.hook_failed", err: error }, "the publish hook threw; publisher refused");
      return { allow: false, reason: "publish hook failed" };
    }
  }
}

/**
 * Publishers the server starts itself, not a client: NMS's internal sessions (no address; they skip
 * NMS's own events too) and the relay pulls an operator sets up through NMS's API (outbound
 * connections to an origin, whose `ip` is the origin's `host:port`). Every other session, whatever its
 * class, goes to the hook, so an unknown way in is refused rather than let through.
 */
function isServerOwn(session: BaseSession, { RtmpClientSession, RtspClientSession }: Nms4Internals): boolean {
  return session.ip === "" || session instanceof RtmpClientSession || session instanceof RtspClientSession;
}

/** An NMS publishing session as the hook sees it; null for a protocol the gate does not know. */
function publishStartOf(session: BaseSession, live: boolean, trustedProxies: IpRuleList): PublishStart | null {
  const protocol = protocolOf(session);
  if (protocol === null || protocol === "hls") return null;
  return {
    app: session.streamApp,
    channel: session.streamName,
    ip: protocol === "rtmp" ? addressOf(session) : httpPublisherAddressOf(session, trustedProxies),
    protocol: protocol === "http-flv" ? "flv" : protocol,
    query: firstValues(session.streamQuery),
    live,
    ...(protocol === "rtmp" ? optional("connection", tcpEndpointsOf(session.socket)) : {}),
  };
}

/**
 * Cuts a publisher before any of its media is forwarded: see PublishGate. Safe on a connection that
 * is already gone.
 */
function refusePublish(broadcast: BroadcastServer, session: BaseSession, context: Nms4Internals["Context"]): void {
  const rtmp = session.rtmp;
  if (session.protocol === "rtmp" && rtmp !== undefined) {
    rtmp.onPacketCallback = dropPacket;
    const socket = session.socket;
    if (socket === undefined || socket.destroyed) return;
    socket.pause(); // nothing more of theirs is read, let alone parsed
    safely(() => rtmp.sendStatusMessage(rtmp.streamId, "error", "NetStream.Publish.Failed", "Forbidden"));
    socket.end();
    setTimeout(() => socket.destroy(), DESTROY_AFTER_MS).unref();
    return;
  }
  safely(() => refusePlay(session, REFUSED_DECISION));
  const socket = session.req?.socket;
  if (socket === undefined) return;
  setTimeout(() => socket.destroy(), DESTROY_AFTER_MS).unref();
  socket.once("close", () => forgetIfEmpty(broadcast, context));
}

/**
 * NMS forgets a stream when its last subscriber or its publisher leaves, but a refused FLV publisher
 * is neither (its session still says `isPublisher`, and `donePublish` ignores it): every refused POST
 * to a fresh name would leave a stream behind in `Context.broadcasts`. Removed here, as NMS's own
 * `_destroyIfEmpty` would.
 */
function forgetIfEmpty(broadcast: BroadcastServer, context: Nms4Internals["Context"]): void {
  if (broadcast.publisher === null && broadcast.subscribers.size === 0 && context.broadcasts.get(broadcast.streamPath) === broadcast) {
    context.broadcasts.delete(broadcast.streamPath);
  }
}

function dropPacket(): void {
  // A refused publisher's packets go nowhere.
}

/** NMS's parsed query (`querystring` / express) with the first value of each key; arrays and objects flattened to their first string. */
function firstValues(query: BaseSession["streamQuery"] | undefined): Record<string, string> {
  const out = Object.create(null) as Record<string, string>; // a key such as `__proto__` stays a key
  for (const [key, value] of Object.entries(query ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (typeof first === "string") out[key] = first;
  }
  return out;
}

/**
 * An HTTP-FLV or WS-FLV publisher's address behind the trusted proxies (X-Forwarded-For of the request
 * or the WebSocket upgrade); "" when a trusted proxy reports none.
 */
function httpPublisherAddressOf(session: BaseSession, trustedProxies: IpRuleList): string {
  const req = session.req;
  if (req === undefined) return addressOf(session);
  const socketAddress = req.socket?.remoteAddress;
  const peer = socketAddress === undefined ? parseNmsSessionAddress(session.ip) : parseIpAddress(socketAddress);
  return resolvePublisherAddress(peer, req.headers?.["x-forwarded-for"], trustedProxies)?.text ?? "";
}

/** `{ [key]: value }`, or nothing when the value is undefined (exactOptionalPropertyTypes). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function addressOf(session: BaseSession): string {
  return parseNmsSessionAddress(session.ip)?.text ?? "";
}

function safely(action: () => void): void {
  try {
    action();
  } catch {
    // The connection is already broken; it is being cut anyway.
  }
}
