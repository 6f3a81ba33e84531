import type { Logger } from "./log.js";

/**
 * Wraps a timer, interval or event-listener callback so that nothing it throws (or, for an async
 * callback, rejects with) leaves it: the failure is logged at error level as `event` with the error,
 * and the callback returns normally.
 *
 * Why: an exception out of a timer or listener has no caller to catch it; Node turns it into an
 * `uncaughtException` (or `unhandledRejection`) and the process dies, taking every viewer with it.
 * One broken callback must cost one log line, not the server. For an EventEmitter it also keeps a
 * throwing listener from silently skipping the listeners registered after it.
 *
 * @example
 * setInterval(guarded(log, "hls.sweep_failed", () => keys.sweep()), 1000);
 */
export function guarded<A extends unknown[]>(log: Logger, event: string, fn: (...args: A) => unknown): (...args: A) => void {
  return function guardedCallback(...args: A): void {
    try {
      const result = fn(...args);
      if (isThenable(result)) result.then(undefined, (error: unknown) => report(log, event, fn, error));
    } catch (error) {
      report(log, event, fn, error);
    }
  };
}

function report(log: Logger, event: string, fn: { name: string }, error: unknown): void {
  try {
    log.error({ event, callback: fn.name || "anonymous", err: error }, "a callback failed; the server carries on");
  } catch {
    // A logger that throws (a destination gone) must not turn a survived failure into a crash.
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}
