import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServerRuntime } from "./server-process.js";

/** One line of the results table: a figure a scenario measured, and the target it is held to (if any). */
export interface Figure {
  scenario: string;
  figure: string;
  value: string;
  /** The target as text ("≤ 2× nginx", "0"), or "" for a figure shown for information. */
  target: string;
  /** Whether the value meets the target; undefined for an information-only figure. */
  ok?: boolean;
}

/** What a scenario returns: its figures, and notes (why it failed, the reason it found…). */
export interface ScenarioResult {
  name: string;
  passed: boolean;
  figures: Figure[];
  notes: string[];
  seconds: number;
}

/** The suite's options, as read from the command line. */
export interface SoakOptions {
  quick: boolean;
  runtime: ServerRuntime;
  /** Soak length (scenario 4), minutes. */
  minutes: number;
  /** Soak viewers (scenario 4). */
  soakViewers: number;
  /** Viewers of the HLS load scenario (scenario 3). */
  hlsViewers: number;
  /** Seconds the HLS load lasts per server after the ramp. */
  hlsSeconds: number;
  /** The HLS load scenario's channel is AES-128 encrypted (`channels[].hls.encryption`). */
  hlsEncrypted?: boolean;
  /** Load generator processes per load. */
  loadProcesses: number;
}

/** Collects figures; `check` records one with a target and remembers a miss. */
export class FigureSheet {
  readonly figures: Figure[] = [];
  readonly notes: string[] = [];
  #failed = false;

  constructor(readonly scenario: string) {}

  get passed(): boolean {
    return !this.#failed;
  }

  info(figure: string, value: string | number): void {
    this.figures.push({ scenario: this.scenario, figure, value: String(value), target: "" });
  }

  check(figure: string, value: string | number, target: string, ok: boolean): void {
    this.figures.push({ scenario: this.scenario, figure, value: String(value), target, ok });
    if (!ok) this.#failed = true;
  }

  fail(note: string): void {
    this.#failed = true;
    this.notes.push(note);
  }
}

/** A private, world-readable work directory (nginx's workers may run as another user); removed by `cleanup`. */
export function workDirectory(name: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), `va-soak-${name}-`));
  chmodSync(dir, 0o755);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function ms(value: number): string {
  return `${Math.round(value)} ms`;
}

export function percent(part: number, whole: number): string {
  return whole === 0 ? "n/a" : `${((100 * part) / whole).toFixed(2)} %`;
}
