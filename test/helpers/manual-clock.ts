import type { Clock } from "../../plugin/src/core/clock.js";

/** A hand-made clock: time moves only when a test says so. Starts at the real time unless told. */
export class ManualClock implements Clock {
  constructor(private ms: number = Date.now()) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
  set(ms: number): void {
    this.ms = ms;
  }
}
