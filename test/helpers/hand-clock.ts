import type { Clock } from "../../plugin/src/clock.js";

/** A clock a test moves by hand: it starts at the real time and only moves on `advance`. */
export interface HandClock extends Clock {
  advance(ms: number): void;
}

export function createHandClock(start = Date.now()): HandClock {
  let now = start;
  return { now: () => now, advance: (ms) => (now += ms) };
}
