import type { Clock } from "../core/clock.js";
import type { CountedUse, UseCounter } from "../core/use-counter.js";

/** How often counts of links that ended are dropped, ms. */
const FORGET_EVERY_MS = 60_000;

/**
 * MemoryLinkUses counts the uses of signed links with `maxUses` in this process: a count per link key,
 * kept until the link's end and dropped by a sweep at most once a minute (run on the way of a `take`, so
 * no timer), so memory holds the links still valid that started a session. `take` answers at once: no
 * two admissions can slip in between a read and a write.
 */
export class MemoryLinkUses implements UseCounter {
  readonly #clock: Clock;
  readonly #counts = new Map<string, { used: number; untilMs: number }>();
  #nextForgetMs = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  take(use: CountedUse): Promise<boolean> {
    return Promise.resolve(this.takeNow(use));
  }

  /** `take`, synchronously. */
  takeNow(use: CountedUse): boolean {
    this.#forgetEnded();
    const entry = this.#counts.get(use.key);
    if (entry === undefined) {
      if (use.max < 1) return false;
      this.#counts.set(use.key, { used: 1, untilMs: use.untilMs });
      return true;
    }
    if (entry.used >= use.max) return false;
    entry.used++;
    entry.untilMs = Math.max(entry.untilMs, use.untilMs);
    return true;
  }

  giveBack(use: CountedUse): void {
    const entry = this.#counts.get(use.key);
    if (entry === undefined) return;
    if (--entry.used <= 0) this.#counts.delete(use.key);
  }

  /** Uses counted for a link key (0 when none, or forgotten). */
  used(key: string): number {
    return this.#counts.get(key)?.used ?? 0;
  }

  /** Links with a count now. */
  get size(): number {
    return this.#counts.size;
  }

  #forgetEnded(): void {
    const now = this.#clock.now();
    if (now < this.#nextForgetMs) return;
    this.#nextForgetMs = now + FORGET_EVERY_MS;
    for (const [key, entry] of this.#counts) if (entry.untilMs <= now) this.#counts.delete(key);
  }
}
