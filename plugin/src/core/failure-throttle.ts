import { LRUCache } from "lru-cache";
import type { Clock } from "./clock.js";

/** How many failures within how long ban a key, and for how long. */
export interface FailureThrottleOptions {
  maxFailures: number;
  windowSec: number;
  banSec: number;
  /** At most this many keys are tracked (failures and bans each); the least recent are forgotten first. Default 100,000. */
  maxKeys?: number;
}

interface FailureWindow {
  count: number;
  firstAtMs: number;
}

/**
 * FailureThrottle counts failures per key (a client address or block): `maxFailures` within a window
 * of `windowSec` from the first one ban the key for `banSec`. Used for viewer credentials (the
 * brute-force throttle) and for the management API's bearer token.
 *
 * An attempt whose check is expensive (a password hash) is reserved before the work starts
 * (`reserve`) and settled when its outcome is known (`settle`): attempts in flight count against the
 * limit like failures, so a burst from one key runs at most `maxFailures` checks, not one per request.
 *
 * Memory: failures and bans live in LRU caches of at most `maxKeys` keys each, whose TTLs follow the
 * injected clock; attempts in flight in a map holding one entry per key with work in progress (an entry
 * goes when its last attempt settles), so it is bounded by the caller's bound on concurrent work.
 */
export class FailureThrottle {
  readonly #clock: Clock;
  readonly #options: FailureThrottleOptions;
  readonly #failures: LRUCache<string, FailureWindow>;
  readonly #bannedUntil: LRUCache<string, number>;
  readonly #inFlight = new Map<string, number>();

  constructor(clock: Clock, options: FailureThrottleOptions) {
    this.#clock = clock;
    this.#options = options;
    // The injected clock drives the TTLs too, so tests can move time without waiting.
    const perf = { now: () => clock.now() };
    const max = options.maxKeys ?? 100_000;
    this.#failures = new LRUCache({ max, ttl: options.windowSec * 1000, perf, ttlResolution: 0 });
    this.#bannedUntil = new LRUCache({ max, ttl: options.banSec * 1000, perf, ttlResolution: 0 });
  }

  /** True while the key is banned. */
  isBanned(key: string): boolean {
    return this.banLeftMs(key) > 0;
  }

  /** How long the key's ban still lasts, in ms; 0 when it is not banned. */
  banLeftMs(key: string): number {
    const until = this.#bannedUntil.get(key);
    return until === undefined ? 0 : Math.max(0, until - this.#clock.now());
  }

  /** Records a failure; returns how many failures got the key banned, or 0 while it is not banned. */
  fail(key: string): number {
    const now = this.#clock.now();
    let window = this.#failures.get(key);
    if (window === undefined || now - window.firstAtMs >= this.#options.windowSec * 1000) {
      window = { count: 0, firstAtMs: now };
      this.#failures.set(key, window);
    }
    window.count++;
    if (window.count < this.#options.maxFailures) return 0;
    this.#failures.delete(key);
    this.#bannedUntil.set(key, now + this.#options.banSec * 1000);
    return window.count;
  }

  /**
   * Reserves one attempt for the key before its expensive check: false (nothing reserved) while the
   * key is banned or its attempts in flight plus its failures in the window reach `maxFailures`.
   * Every true must be followed by exactly one `settle`.
   */
  reserve(key: string): boolean {
    if (this.isBanned(key)) return false;
    const inFlight = this.#inFlight.get(key) ?? 0;
    if (inFlight + this.#failuresInWindow(key) >= this.#options.maxFailures) return false;
    this.#inFlight.set(key, inFlight + 1);
    return true;
  }

  /**
   * Settles an attempt `reserve` let through: a failure is recorded (returns what `fail` returns), a
   * success or an attempt that never ran only frees its place (returns 0).
   */
  settle(key: string, failed: boolean): number {
    const inFlight = (this.#inFlight.get(key) ?? 1) - 1;
    if (inFlight > 0) this.#inFlight.set(key, inFlight);
    else this.#inFlight.delete(key);
    return failed ? this.fail(key) : 0;
  }

  #failuresInWindow(key: string): number {
    const window = this.#failures.get(key);
    if (window === undefined || this.#clock.now() - window.firstAtMs >= this.#options.windowSec * 1000) return 0;
    return window.count;
  }
}
