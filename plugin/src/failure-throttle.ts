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
 * brute-force throttle) and for the management API's bearer token. Memory is bounded by LRU caches
 * whose TTLs follow the injected clock.
 */
export class FailureThrottle {
  readonly #clock: Clock;
  readonly #options: FailureThrottleOptions;
  readonly #failures: LRUCache<string, FailureWindow>;
  readonly #bannedUntil: LRUCache<string, number>;

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
    const until = this.#bannedUntil.get(key);
    return until !== undefined && until > this.#clock.now();
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
}
