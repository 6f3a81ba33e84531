/** The bounds of the wait between two delivery attempts (`events.retry`). */
export interface BackoffSettings {
  readonly initialMs: number;
  readonly maxMs: number;
}

/**
 * The wait before the next attempt after `failures` consecutive failures (1 = the first): the capped
 * exponential `initialMs × 2^(failures−1)`, jittered to between half and all of it, so receivers that
 * come back are not hit by every sender at the same instant. `random` is in [0, 1) (injected in tests).
 */
export function retryDelayMs(failures: number, settings: BackoffSettings, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(failures, 1) - 1, 40); // 2^40 ms is beyond any cap: no overflow to Infinity
  const capped = Math.min(settings.maxMs, settings.initialMs * 2 ** exponent);
  return Math.round(capped / 2 + (capped / 2) * random());
}
