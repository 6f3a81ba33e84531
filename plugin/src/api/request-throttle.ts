import { LRUCache } from "lru-cache";
import type { Clock } from "../clock.js";

/**
 * Counts failures per client address in a sliding window and bans an address that fails too often.
 * Bounded memory: the least recently seen addresses are forgotten first.
 */
export class FailureThrottle {
  readonly #failures: LRUCache<string, number[]>;
  readonly #bannedUntil: LRUCache<string, number>;
  readonly #clock: Clock;
  readonly #maxFailures: number;
  readonly #windowMs: number;
  readonly #banMs: number;

  constructor(clock: Clock, options: { maxFailures: number; windowSec: number; banSec: number; maxAddresses?: number }) {
    this.#clock = clock;
    this.#maxFailures = options.maxFailures;
    this.#windowMs = options.windowSec * 1000;
    this.#banMs = options.banSec * 1000;
    const max = options.maxAddresses ?? 100_000;
    this.#failures = new LRUCache({ max });
    this.#bannedUntil = new LRUCache({ max });
  }

  /** True while the address is banned. */
  isBanned(address: string): boolean {
    const until = this.#bannedUntil.get(address);
    return until !== undefined && until > this.#clock.now();
  }

  /** Records a failure; returns true when this failure got the address banned. */
  fail(address: string): boolean {
    const now = this.#clock.now();
    const recent = (this.#failures.get(address) ?? []).filter((t) => t > now - this.#windowMs);
    recent.push(now);
    this.#failures.set(address, recent);
    if (recent.length < this.#maxFailures) return false;
    this.#failures.delete(address);
    this.#bannedUntil.set(address, now + this.#banMs);
    return true;
  }
}
