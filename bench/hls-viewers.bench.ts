// 2,000 HLS viewers (each: its playlist, then the newest segment once per target duration, for 60 s after
// a ramp) against the bundled server (gated, its own process) and against nginx secure_link on the same
// files, in the same run, with the load generators in processes of their own (the soak suite's scenario 3).
// Prints the figures with the targets: 0 errors, segment and playlist p99 within 2× nginx's, ≥ 0.99 of
// nginx's segments delivered. VA_BENCH_HLS_VIEWERS / VA_BENCH_HLS_SECONDS change the size;
// VA_BENCH_HLS_ENCRYPTED=1 encrypts the channel (AES-128, a key every 2 segments).
// Needs nginx and ffmpeg; builds the packages first (the server runs from dist/). Writes the table to
// bench/results/hls-viewers-<date>.md.
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { markdownTable, textTable } from "./soak/results-table.js";
import { hlsLoadScenario } from "./soak/scenarios/hls-load.js";
import { buildOnce } from "./soak/server-process.js";
import { writeDatedResults } from "./results-file.js";

const missing = ["nginx", "ffmpeg"].filter(
  (tool) => spawnSync("sh", ["-c", `command -v ${tool} || test -x /usr/sbin/${tool}`]).status !== 0,
);
if (missing.length > 0) {
  console.log(`hls-viewers: skipped, not installed: ${missing.join(", ")}`);
  process.exit(0);
}
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
const loadBefore = load();
buildOnce();
const result = await hlsLoadScenario({
  quick: false,
  runtime: "dist",
  minutes: 0,
  soakViewers: 0,
  hlsViewers: Number(process.env.VA_BENCH_HLS_VIEWERS ?? 2000),
  hlsSeconds: Number(process.env.VA_BENCH_HLS_SECONDS ?? 60),
  loadProcesses: 2,
  hlsEncrypted: process.env.VA_BENCH_HLS_ENCRYPTED === "1",
});
const when = `${new Date().toISOString()}, load average before ${loadBefore}, after ${load()} (1/5/15 min)`;
console.log(`\n${when}\n`);
console.log(textTable([result]));
const notes = result.notes.length > 0 ? `\nNotes:\n${result.notes.join("\n")}\n` : "";
if (notes !== "") console.log(notes);
console.log(`\n${markdownTable([result])}`);
writeDatedResults(
  "hls-viewers",
  [
    `# hls-viewers${process.env.VA_BENCH_HLS_ENCRYPTED === "1" ? ", encrypted channel" : ""}`,
    "",
    when,
    "",
    markdownTable([result]),
    notes,
  ].join("\n"),
);
process.exit(result.passed ? 0 : 1);
