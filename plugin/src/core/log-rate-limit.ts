import type { Clock } from "./clock.js";

/**
 * LogRateLimit decides when a repeating failure is worth another log line: the first occurrence
 * always, then at most one line per `intervalMs`, which reports how many occurrences it stands for.
 * A database locked for an hour or a stream of dropped connections then costs a line a minute, not
 * one per attempt, and no occurrence goes uncounted.
 *
 * @example
 * const limit = new LogRateLimit(clock, 60_000);
 * const count = limit.hit();
 * if (count > 0) log.error({ event: "stats.write_failed", failures: count }, "…");
 */
export class LogRateLimit {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  #lastLoggedAt = -Infinity;
  #held = 0;

  constructor(clock: Clock, intervalMs: number) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
  }

  /**
   * Counts one occurrence. Returns how many occurrences a log line written now should report (this one
   * plus those held back since the last line), or 0 when the caller should stay quiet.
   */
  hit(): number {
    const now = this.#clock.now();
    if (now - this.#lastLoggedAt < this.#intervalMs) {
      this.#held++;
      return 0;
    }
    const count = this.#held + 1;
    this.#held = 0;
    this.#lastLoggedAt = now;
    return count;
  }

  /** Forgets the past (the failure is over): the next occurrence is logged at once. Returns the count held back. */
  reset(): number {
    const held = this.#held;
    this.#held = 0;
    this.#lastLoggedAt = -Infinity;
    return held;
  }
}
