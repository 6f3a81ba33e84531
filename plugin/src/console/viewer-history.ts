import type { Clock } from "../core/clock.js";
import type { SessionStore } from "../core/session-store.js";
import type { Protocol } from "../core/auth-request.js";

/** Playing viewers of one channel at one moment, per protocol. */
export interface ViewerSample {
  at: number;
  viewers: Partial<Record<Protocol, number>>;
}

/** How often viewers are counted, and how much history is kept: one hour of 10-second samples. */
export const SAMPLE_INTERVAL_MS = 10_000;
export const HISTORY_SAMPLES = 360;
/** Channels tracked at most (a channel name is the viewer's choice until the chain refuses it, but only playing sessions count). */
const MAX_CHANNELS = 1_000;

/**
 * ViewerHistory counts the playing viewers of every channel per protocol every SAMPLE_INTERVAL_MS and
 * keeps the last hour per channel, for the console's "viewers over the last hour" chart. One count is
 * one pass over the live sessions; memory is HISTORY_SAMPLES samples per channel, MAX_CHANNELS channels.
 */
export class ViewerHistory {
  readonly #registry: SessionStore;
  readonly #clock: Clock;
  readonly #samples = new Map<string, ViewerSample[]>();
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(registry: SessionStore, clock: Clock, intervalMs = SAMPLE_INTERVAL_MS) {
    this.#registry = registry;
    this.#clock = clock;
    this.#intervalMs = intervalMs;
  }

  /** Starts counting every interval (building the history opens nothing). Once; `close` stops it. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.sample(), this.#intervalMs);
    this.#timer.unref();
  }

  /** Counts now (the timer calls it; tests call it to avoid waiting). */
  sample(): void {
    const at = this.#clock.now();
    const counts = this.current();
    for (const [channel, viewers] of counts) this.#push(channel, { at, viewers });
    // A channel with no viewer now still gets a zero, so its chart falls to the floor instead of stopping.
    for (const channel of this.#samples.keys()) if (!counts.has(channel)) this.#push(channel, { at, viewers: {} });
  }

  /** Playing viewers now, per `app/channel` and protocol. */
  current(): Map<string, Partial<Record<Protocol, number>>> {
    const counts = new Map<string, Partial<Record<Protocol, number>>>();
    for (const s of this.#registry.list({ state: "playing" })) {
      const key = `${s.app}/${s.channel}`;
      const perProtocol = counts.get(key) ?? {};
      perProtocol[s.protocol] = (perProtocol[s.protocol] ?? 0) + 1;
      counts.set(key, perProtocol);
    }
    return counts;
  }

  /** The last hour of samples per channel, oldest first. */
  history(): Record<string, ViewerSample[]> {
    return Object.fromEntries(this.#samples);
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #push(channel: string, sample: ViewerSample): void {
    let samples = this.#samples.get(channel);
    if (samples === undefined) {
      if (this.#samples.size >= MAX_CHANNELS) return;
      samples = [];
      this.#samples.set(channel, samples);
    }
    samples.push(sample);
    if (samples.length > HISTORY_SAMPLES) samples.shift();
    // A channel silent for a whole hour is forgotten.
    if (samples.every((s) => Object.keys(s.viewers).length === 0)) this.#samples.delete(channel);
  }
}
