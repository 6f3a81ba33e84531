// Dated results: a bench that backs a target writes what it printed to bench/results/<name>-<UTC time>.md,
// so the figures a closing note or docs/scaling.md cites stay in the tree with their date and the machine's load.
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { reportedLines } from "./bench-stats.js";

/** Writes `markdown` to the results folder (VA_BENCH_RESULTS_DIR, else bench/results) and says where; returns the path. */
export function writeDatedResults(name: string, markdown: string, at = new Date()): string {
  const dir = process.env.VA_BENCH_RESULTS_DIR ?? join(dirname(fileURLToPath(import.meta.url)), "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}-${at.toISOString().slice(0, 19).replace(/[:T]/g, "-")}.md`);
  writeFileSync(file, markdown);
  console.log(`\nresults written to ${file}`);
  return file;
}

/** A results block of every line `report` printed in this process, under a title, with the time and the load average. */
export function reportBlock(title: string, about: string, at = new Date()): string {
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
  return [
    `# ${title}`,
    "",
    `${at.toISOString()}; ${about}; load average ${load} (1/5/15 min) at the end.`,
    "",
    "```text",
    ...reportedLines(),
    "```",
    "",
  ].join("\n");
}
