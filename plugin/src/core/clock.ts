/** Clock is the source of time for every expiry, TTL and latency: inject a hand-made one in tests. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The production clock. */
export const systemClock: Clock = { now: () => Date.now() };
