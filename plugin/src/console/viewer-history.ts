import type { Clock } from "../core/clock.js";
import type { SessionStore } from "../core/session-store.js";
import type { Protocol } from "../core/auth-request.js";
import type { Logger } from "../core/log.js";
import { LogRateLimit } from "../core/log-rate-limit.js";
import type { HistoryPoint } from "../stats/stats-ledger.js";

/** Playing viewers of one channel at one moment, per protocol. */
export interface ViewerSample {
  at: number;
  viewers: Partial<Record<Protocol, number>>;
}

/** How often viewers are counted, and how much history is kept: one hour of 10-second samples. */
export const SAMPLE_INTERVAL_MS = 10_000;
export const HISTORY_SAMPLES = 360;
/** The long ranges of `series`: one bucket per resolution, the most viewers at once within it. */
export const HISTORY_RANGES = {
  "24h": { resolutionSec: 60, spanSec: 86_400 },
  "7d": { resolutionSec: 600, spanSec: 7 * 86_400 },
} as const;
export type HistoryRange = keyof typeof HISTORY_RANGES;

/** Where the long history survives a restart: the statistics database (`stats.file`). */
export interface HistoryStore {
  historyPoints(resolutionSec: number, fromMs: number): HistoryPoint[];
  saveHistory(resolutionSec: number, points: readonly HistoryPoint[], keepFromMs: number): void;
}

/** A channel's concurrent viewers over a long range, one point per bucket (zero where nobody watched), oldest first. */
export interface HistorySeries {
  range: HistoryRange;
  resolutionSec: number;
  points: { at: number; viewers: number }[];
}

const RANGE_NAMES = Object.keys(HISTORY_RANGES) as HistoryRange[];
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
  /** Per range: bucket start → channel → the most viewers at once (only buckets and channels with viewers). */
  readonly #buckets: Record<HistoryRange, Map<number, Map<string, number>>> = { "24h": new Map(), "7d": new Map() };
  /** Buckets changed since the last write to the store, per range. */
  readonly #dirty: Record<HistoryRange, Set<number>> = { "24h": new Set(), "7d": new Set() };
  readonly #store: (() => HistoryStore | undefined) | undefined;
  readonly #log: Logger | undefined;
  readonly #failureLog: LogRateLimit;
  #loaded = false;

  /**
   * `store`: the statistics database the long history is kept in (read at the first count or read, written once a minute
   * and at `close`); without it the long history lives as long as the process.
   */
  constructor(
    registry: SessionStore,
    clock: Clock,
    intervalMs = SAMPLE_INTERVAL_MS,
    store: (() => HistoryStore | undefined) | undefined = undefined,
    log: Logger | undefined = undefined,
  ) {
    this.#registry = registry;
    this.#clock = clock;
    this.#intervalMs = intervalMs;
    this.#store = store;
    this.#log = log;
    this.#failureLog = new LogRateLimit(clock, 60_000);
  }

  /** Starts counting every interval (building the history opens nothing). Once; `close` stops it. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.sample(), this.#intervalMs);
    this.#timer.unref();
  }

  /** Counts now (the timer calls it; tests call it to avoid waiting). */
  sample(): void {
    this.#loadOnce();
    const at = this.#clock.now();
    const counts = this.current();
    for (const [channel, viewers] of counts) this.#push(channel, { at, viewers });
    // A channel with no viewer now still gets a zero, so its chart falls to the floor instead of stopping.
    for (const channel of this.#samples.keys()) if (!counts.has(channel)) this.#push(channel, { at, viewers: {} });
    for (const range of RANGE_NAMES) this.#record(range, at, counts);
  }

  /**
   * One channel's (or, without `channel`, every channel's summed) most viewers at once per bucket over
   * the range, ending with the bucket now open.
   */
  series(channel: string | undefined, range: HistoryRange): HistorySeries {
    this.#loadOnce();
    const { resolutionSec, spanSec } = HISTORY_RANGES[range];
    const stepMs = resolutionSec * 1000;
    const last = Math.floor(this.#clock.now() / stepMs) * stepMs;
    const points: { at: number; viewers: number }[] = [];
    for (let at = last - spanSec * 1000 + stepMs; at <= last; at += stepMs) {
      const bucket = this.#buckets[range].get(at);
      let viewers = 0;
      if (bucket !== undefined) {
        if (channel !== undefined) viewers = bucket.get(channel) ?? 0;
        else for (const n of bucket.values()) viewers += n;
      }
      points.push({ at, viewers });
    }
    return { range, resolutionSec, points };
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

  /** Stops counting and writes the open buckets, so a restart loses at most the minute in progress since the last count. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#save(true);
  }

  /** Adds a count to the range's open bucket (a bucket keeps its largest count), then writes the buckets that closed. */
  #record(range: HistoryRange, at: number, counts: Map<string, Partial<Record<Protocol, number>>>): void {
    const { resolutionSec, spanSec } = HISTORY_RANGES[range];
    const stepMs = resolutionSec * 1000;
    const start = Math.floor(at / stepMs) * stepMs;
    const buckets = this.#buckets[range];
    let bucket = buckets.get(start);
    for (const [channel, perProtocol] of counts) {
      const viewers = Object.values(perProtocol).reduce((a, n) => a + (n ?? 0), 0);
      if (viewers === 0) continue;
      if (bucket === undefined) {
        bucket = new Map();
        buckets.set(start, bucket);
      }
      if (!bucket.has(channel) && bucket.size >= MAX_CHANNELS) continue;
      if (viewers > (bucket.get(channel) ?? 0)) {
        bucket.set(channel, viewers);
        this.#dirty[range].add(start);
      }
    }
    for (const old of buckets.keys()) {
      if (old > start - spanSec * 1000) continue;
      buckets.delete(old);
      this.#dirty[range].delete(old); // without a store nothing clears it otherwise
    }
    this.#save(false);
  }

  /** Writes the changed buckets that are closed (or all changed ones, `all`); a failure is logged, the buckets stay in memory and are written again next time. */
  #save(all: boolean): void {
    const store = this.#store?.();
    if (store === undefined) return;
    const now = this.#clock.now();
    for (const range of RANGE_NAMES) {
      const { resolutionSec, spanSec } = HISTORY_RANGES[range];
      const stepMs = resolutionSec * 1000;
      const open = Math.floor(now / stepMs) * stepMs;
      const due = [...this.#dirty[range]].filter((at) => all || at < open);
      if (due.length === 0) continue;
      const points: HistoryPoint[] = [];
      for (const at of due) for (const [channel, viewers] of this.#buckets[range].get(at) ?? []) points.push({ channel, at, viewers });
      try {
        store.saveHistory(resolutionSec, points, open - spanSec * 1000 + stepMs);
        for (const at of due) this.#dirty[range].delete(at);
      } catch (error) {
        const failures = this.#failureLog.hit();
        if (failures > 0)
          this.#log?.warn(
            { event: "history.write_failed", failures, err: error },
            "writing the viewer history to the statistics database failed; retried at the next count",
          );
      }
    }
  }

  /**
   * Reads the long history the statistics database kept from before a restart, at the first count or
   * read: by then the database is open (the plugin opens it first thing at start).
   */
  #loadOnce(): void {
    if (this.#loaded) return;
    this.#loaded = true;
    const store = this.#store?.();
    if (store === undefined) return;
    const now = this.#clock.now();
    for (const range of RANGE_NAMES) {
      const { resolutionSec, spanSec } = HISTORY_RANGES[range];
      try {
        for (const p of store.historyPoints(resolutionSec, now - spanSec * 1000)) {
          const bucket = this.#buckets[range].get(p.at) ?? new Map<string, number>();
          bucket.set(p.channel, Math.max(p.viewers, bucket.get(p.channel) ?? 0));
          this.#buckets[range].set(p.at, bucket);
        }
      } catch (error) {
        this.#log?.warn({ event: "history.read_failed", err: error }, "reading the viewer history from the statistics database failed");
      }
    }
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
