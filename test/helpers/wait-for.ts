import { sleep } from "./sleep.js";

/**
 * The suite's one poller: calls `check` every `intervalMs` until it returns a value other than
 * undefined, and returns that value; throws after `timeoutMs`. `what` names the awaited condition in
 * the error (a function is called then, so the message can show the state at the deadline).
 */
export async function waitFor<T>(
  what: string | (() => string),
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) break;
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : what()}`);
}

/** `waitFor` for a condition: polls `check` every `intervalMs` until it is true; throws after `timeoutMs`. */
export async function waitUntil(
  what: string | (() => string),
  check: () => Promise<boolean> | boolean,
  timeoutMs = 20000,
  intervalMs = 50,
): Promise<void> {
  await waitFor(what, async () => ((await check()) ? true : undefined), timeoutMs, intervalMs);
}
