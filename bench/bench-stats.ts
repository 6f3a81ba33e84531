import { performance } from "node:perf_hooks";

/** Percentiles of a sample of durations, in microseconds. */
export interface Percentiles {
  p50Us: number;
  p99Us: number;
  meanUs: number;
}

/** Times `run` once per iteration (after a warm-up) and returns p50/p99/mean in µs. */
export async function timeEach(iterations: number, run: (i: number) => unknown): Promise<Percentiles> {
  for (let i = 0; i < Math.min(1000, iterations); i++) await run(i);
  const samples = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    const result = run(i);
    if (result instanceof Promise) await result;
    samples[i] = (performance.now() - start) * 1000;
  }
  return percentilesOf(samples);
}

export function percentilesOf(samples: Float64Array | number[]): Percentiles {
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
  return { p50Us: round(at(0.5)), p99Us: round(at(0.99)), meanUs: round(mean) };
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

const reported: string[] = [];

/** Prints one result line: a name, numbers, and a ratio against the baseline measured in the same run. */
export function report(name: string, fields: Record<string, number | string>): void {
  const text = Object.entries(fields)
    .map(([k, v]) => `${k}=${v}`)
    .join("  ");
  const line = `${name.padEnd(44)} ${text}`;
  reported.push(line);
  console.log(line);
}

/** Every line `report` printed in this process, in order (what a dated results block holds). */
export function reportedLines(): readonly string[] {
  return reported;
}
