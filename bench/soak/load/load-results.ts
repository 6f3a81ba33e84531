/** What one load process measured; the runner merges several (one per generator process). */
export interface LoadResult {
  /** Viewers that got their first answer (playlist or FLV headers) with status 200. */
  joined: number;
  /** First answers by status (`0` = no answer: connection error or timeout). */
  joinStatuses: Record<string, number>;
  /** First-answer latencies, ms. */
  joinMs: number[];
  segmentsAsked: number;
  segmentsDelivered: number;
  segmentBytes: number;
  segmentMs: number[];
  playlistMs: number[];
  /** AES-128 keys an HLS player fetched (encrypted channels, through the gate), and their latencies, ms. */
  keysAsked: number;
  keysDelivered: number;
  keyMs: number[];
  /** Failed requests by kind (`status-403`, `timeout`, `closed`, `connect`, …). */
  errors: Record<string, number>;
  flvBytes: number;
  /** FLV viewers that received media (more than the FLV header) before they left. */
  flvWithMedia: number;
  /** When each HTTP-FLV viewer that left on its own (churn, end of run) closed its connection (epoch ms). */
  flvLeftAt: number[];
  /** The generator processes' own CPU seconds and worst event-loop delay p99 (ms): a saturated generator inflates latencies. */
  generatorCpuSeconds: number;
  generatorLoopDelayP99Ms: number;
}

export function emptyResult(): LoadResult {
  return {
    joined: 0,
    joinStatuses: {},
    joinMs: [],
    segmentsAsked: 0,
    segmentsDelivered: 0,
    segmentBytes: 0,
    segmentMs: [],
    playlistMs: [],
    keysAsked: 0,
    keysDelivered: 0,
    keyMs: [],
    errors: {},
    flvBytes: 0,
    flvWithMedia: 0,
    flvLeftAt: [],
    generatorCpuSeconds: 0,
    generatorLoopDelayP99Ms: 0,
  };
}

export function countInto(map: Record<string, number>, key: string, n = 1): void {
  map[key] = (map[key] ?? 0) + n;
}

export function mergeResults(results: LoadResult[]): LoadResult {
  const out = emptyResult();
  for (const r of results) {
    out.joined += r.joined;
    for (const [k, v] of Object.entries(r.joinStatuses)) countInto(out.joinStatuses, k, v);
    for (const [k, v] of Object.entries(r.errors)) countInto(out.errors, k, v);
    append(out.joinMs, r.joinMs);
    out.segmentsAsked += r.segmentsAsked;
    out.segmentsDelivered += r.segmentsDelivered;
    out.segmentBytes += r.segmentBytes;
    append(out.segmentMs, r.segmentMs);
    append(out.playlistMs, r.playlistMs);
    out.keysAsked += r.keysAsked;
    out.keysDelivered += r.keysDelivered;
    append(out.keyMs, r.keyMs);
    out.flvBytes += r.flvBytes;
    out.flvWithMedia += r.flvWithMedia;
    append(out.flvLeftAt, r.flvLeftAt);
    out.generatorCpuSeconds += r.generatorCpuSeconds;
    out.generatorLoopDelayP99Ms = Math.max(out.generatorLoopDelayP99Ms, r.generatorLoopDelayP99Ms);
  }
  return out;
}

/** Appends in a loop: a spread of a soak's hundreds of thousands of latencies overflows the call stack. */
function append(to: number[], from: number[]): void {
  for (const v of from) to.push(v);
}

export function totalErrors(r: LoadResult): number {
  return Object.values(r.errors).reduce((a, b) => a + b, 0);
}

/** The q-quantile (0..1) of a sample, nearest rank; 0 for an empty sample. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
