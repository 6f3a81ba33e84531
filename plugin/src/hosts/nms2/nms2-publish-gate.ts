import type { Logger } from "../../core/log.js";
import { parseIpAddress } from "../../net/ip-address.js";
import { tcpEndpointsOf } from "../../net/process-proof.js";
import type { PublishedStreamInfo, PublishHook, PublishStart, PublishWatcher } from "../host-adapter.js";
import type { Nms2Internals } from "./nms2-internals.js";

/** A session as NMS 2.7's `prePublish` sees it (RTMP only: its FLV sessions only play). */
interface PublishingSession {
  readonly ip?: string;
  readonly socket?: { readonly localPort?: number; readonly remotePort?: number };
  reject(): void;
}

/**
 * Nms2PublishGate asks the publish hook about every NMS 2.7 publisher. NMS emits `prePublish`
 * synchronously in `NodeRtmpSession.onPublish` and goes on only if the session is still starting, so a
 * listener that calls `session.reject()` stops the publisher in that same turn: before NMS registers it,
 * answers `NetStream.Publish.Start` or forwards one packet (a session's packets go only to the players
 * of a registered publisher). A second publisher on a live name is refused by NMS itself
 * (`NetStream.Publish.BadName`, then the socket closes).
 */
export class Nms2PublishGate {
  readonly #nms: Nms2Internals;
  readonly #log: Logger;
  #hook: PublishHook = () => ({ allow: true });
  readonly #listener = (id: unknown, streamPath: unknown, args: unknown) => this.#prePublish(id, streamPath, args);
  #watcher: PublishWatcher | undefined;
  /** Allowed publishers by NMS session id, from `prePublish` until NMS's `donePublish`. */
  readonly #allowed = new Map<string, { info: PublishedStreamInfo; started: boolean }>();
  readonly #onPost = (id: unknown) => this.#postPublish(id);
  readonly #onDone = (id: unknown) => this.#donePublish(id);

  constructor(nms: Nms2Internals, log: Logger) {
    this.#nms = nms;
    this.#log = log;
  }

  attach(): void {
    this.#nms.context.nodeEvent.on("prePublish", this.#listener);
  }

  setHook(hook: PublishHook): void {
    this.#hook = hook;
  }

  /** Reports publishers NMS accepted (its `postPublish`) and their end (its `donePublish`). */
  watch(watcher: PublishWatcher): void {
    if (this.#watcher === undefined) {
      this.#nms.context.nodeEvent.on("postPublish", this.#onPost);
      this.#nms.context.nodeEvent.on("donePublish", this.#onDone);
    }
    this.#watcher = watcher;
  }

  detach(): void {
    this.#nms.context.nodeEvent.off("prePublish", this.#listener);
    this.#nms.context.nodeEvent.off("postPublish", this.#onPost);
    this.#nms.context.nodeEvent.off("donePublish", this.#onDone);
    this.#allowed.clear();
  }

  #postPublish(id: unknown): void {
    const entry = typeof id === "string" ? this.#allowed.get(id) : undefined;
    if (entry === undefined || entry.started) return;
    entry.started = true;
    this.#report(() => this.#watcher?.started(entry.info));
  }

  #donePublish(id: unknown): void {
    const entry = typeof id === "string" ? this.#allowed.get(id) : undefined;
    if (entry === undefined) return;
    this.#allowed.delete(id as string);
    if (entry.started) this.#report(() => this.#watcher?.ended(entry.info));
  }

  #report(action: () => void): void {
    try {
      action();
    } catch (error) {
      this.#log.error({ event: "publish.watcher_failed", err: error }, "the publish watcher threw");
    }
  }

  #prePublish(id: unknown, streamPath: unknown, args: unknown): void {
    const session = typeof id === "string" ? (this.#nms.context.sessions.get(id) as PublishingSession | undefined) : undefined;
    if (session === undefined) return;
    const match = typeof streamPath === "string" ? /^\/([^/]*)\/([^/]*)$/.exec(streamPath) : null;
    let verdict;
    try {
      const start = match === null ? undefined : publishStart(session, match[1]!, match[2]!, args);
      verdict = start === undefined ? { allow: false as const, reason: "malformed stream path" } : this.#hook(start);
      if (verdict.allow && start !== undefined && this.#watcher !== undefined)
        this.#allowed.set(id as string, {
          info: { app: start.app, channel: start.channel, ip: start.ip, protocol: start.protocol },
          started: false,
        });
    } catch (error) {
      this.#log.error({ event: "publish.hook_failed", err: error }, "publish hook threw; refusing the publisher");
      verdict = { allow: false as const, reason: "publish hook failed" };
    }
    if (verdict.allow) return;
    this.#log.info({ event: "publish.refused", app: match?.[1], channel: match?.[2], reason: verdict.reason }, "refused a publisher");
    session.reject();
  }
}

function publishStart(session: PublishingSession, app: string, channel: string, args: unknown): PublishStart {
  const query: Record<string, string> = {};
  if (typeof args === "object" && args !== null) {
    for (const [key, value] of Object.entries(args)) {
      const first: unknown = Array.isArray(value) ? value[0] : value;
      if (typeof first === "string") query[key] = first;
    }
  }
  const ip = session.ip === undefined ? "" : (parseIpAddress(session.ip)?.text ?? session.ip);
  const connection = tcpEndpointsOf(session.socket);
  return { app, channel, ip, protocol: "rtmp", query, ...(connection === undefined ? {} : { connection }) };
}
