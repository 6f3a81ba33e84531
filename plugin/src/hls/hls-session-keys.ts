import { randomBytes } from "node:crypto";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/log.js";
import { guarded } from "../core/guarded.js";
import type { HlsIpBinding } from "./hls-schema.js";
import type { IpAddress } from "../net/ip-address.js";
import { prefixKey } from "../net/ip-range.js";
import type { SessionStore } from "../core/session-store.js";
import type { ViewerSession } from "../core/viewer-session.js";

/** One authorized HLS viewer: the registry session plus what its key is bound to. */
export interface HlsSession {
  readonly key: string;
  readonly viewer: ViewerSession;
  readonly app: string;
  readonly channel: string;
  readonly address: IpAddress | null;
  bytesOut: number;
}

/** Why a keyed request was refused. */
export type KeyRefusal = "unknown key" | "wrong channel" | "address mismatch";

/**
 * HlsSessionKeys maps unguessable session keys to live HLS sessions. Segment and playlist requests
 * are checked here only, never against a backend. Sessions with no request for the idle time end.
 */
export class HlsSessionKeys {
  readonly #byKey = new Map<string, HlsSession>();
  readonly #registry: SessionStore;
  readonly #clock: Clock;
  readonly #log: Logger;
  #idleMs = 0;
  #binding: HlsIpBinding = "exact";
  #sweeper: NodeJS.Timeout | undefined;
  #started = false;

  constructor(registry: SessionStore, clock: Clock, idleSec: number, binding: HlsIpBinding, log: Logger) {
    this.#log = log;
    this.#registry = registry;
    this.#clock = clock;
    this.configure(idleSec, binding);
  }

  /** Sets the idle time and the address binding (at build, and on a configuration reload). */
  configure(idleSec: number, binding: HlsIpBinding): void {
    this.#idleMs = idleSec * 1000;
    this.#binding = binding;
    if (this.#started) this.#scheduleSweeps();
  }

  /** Starts ending idle sessions (the sweep timer): building the keys opens nothing. Once; `close` stops it. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#scheduleSweeps();
  }

  /** (Re)starts the sweep timer for the idle time in force. */
  #scheduleSweeps(): void {
    clearInterval(this.#sweeper);
    // Sweep often enough that a session ends within ~1/4 of its idle time after it went idle.
    this.#sweeper = setInterval(
      guarded(this.#log, "hls.sweep_failed", () => this.sweep()),
      Math.min(5000, Math.max(250, this.#idleMs / 4)),
    );
    this.#sweeper.unref();
  }

  /** A new random key, 128 bits, URL-safe. */
  static newKey(): string {
    return randomBytes(16).toString("base64url");
  }

  add(session: HlsSession): void {
    this.#byKey.set(session.key, session);
  }

  /** Removes a key: the next request with it gets 403. */
  revoke(key: string): void {
    this.#byKey.delete(key);
  }

  /** The live session for a key, if this request may use it; touches the session. */
  lookup(key: string, app: string, channel: string, address: IpAddress | null): HlsSession | KeyRefusal {
    const session = this.peek(key, app, channel, address);
    if (typeof session !== "string") this.#registry.touch(session.viewer);
    return session;
  }

  /** `lookup` without touching the session: what an explain of a keyed request reads. */
  peek(key: string, app: string, channel: string, address: IpAddress | null): HlsSession | KeyRefusal {
    const session = this.#byKey.get(key);
    if (session === undefined || session.viewer.state === "ended") return "unknown key";
    if (session.app !== app || session.channel !== channel) return "wrong channel";
    if (!this.#addressMatches(session.address, address)) return "address mismatch";
    return session;
  }

  /** Ends sessions idle for longer than the idle time. */
  sweep(): void {
    const cutoff = this.#clock.now() - this.#idleMs;
    for (const session of this.#byKey.values()) {
      if (session.viewer.state === "ended") this.#byKey.delete(session.key);
      else if (session.viewer.lastActivityAt < cutoff) {
        this.#byKey.delete(session.key);
        this.#registry.end(session.viewer, "idle");
      }
    }
  }

  close(): void {
    this.#started = false;
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    this.#byKey.clear();
  }

  #addressMatches(bound: IpAddress | null, actual: IpAddress | null): boolean {
    if (this.#binding === "off") return true;
    if (bound === null || actual === null || bound.family !== actual.family) return false;
    if (this.#binding === "exact") return bound.value === actual.value;
    const bits = bound.family === 4 ? 24 : 64;
    return prefixKey(bound, bits) === prefixKey(actual, bits);
  }
}
