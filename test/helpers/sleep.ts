/**
 * Waits `ms` milliseconds. For pacing a test (letting media flow, spacing requests); to wait for a
 * condition, poll it with `waitFor`/`waitUntil` (wait-for.ts) instead.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
