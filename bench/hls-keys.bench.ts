// Encrypted HLS (AES-128): what the keys cost.
// 1. Key requests against segment requests of the same channel on the same gate (a session key, the
//    viewer's address checked): req/s and p99, wrk in its own process, rounds alternating which goes first,
//    the ratio the median round's.
// 2. The packager's CPU: the same 2 s-segment HLS job (the server's own argument list, startPackager) on the
//    same source media, clear and encrypted (key-info file, periodic_rekey, the key rotator running), in
//    alternating rounds; CPU seconds from /usr/bin/time wrapped around ffmpeg, the ratio the median round's.
//    Done for the single-rendition packager (stream copy: the encryption's cost stands out) and for a
//    one-rung ladder (x264 encode: what a transcoding channel pays on top).
// Without wrk, ffmpeg or /usr/bin/time on the machine it says so and exits 0 with no numbers.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../plugin/src/index.js";
import { createLogger } from "../plugin/src/server-kit.js";
import { KeyRotator } from "../server/src/channels/key-rotator.js";
import { startPackager } from "../server/src/ffmpeg/ffmpeg-jobs.js";
import { serverConfigSchema, type ChannelConfig } from "../server/src/server-config-schema.js";
import { report, round } from "./bench-stats.js";
import { startStandaloneGate } from "./standalone-hls-gate.js";
import { runWrk, type WrkResult } from "./wrk-run.js";

const CONNECTIONS = 16;
const THREADS = 2;
const SECONDS = 3;
const ROUNDS = 5;
/** A 2 s segment at about 1 Mbit/s. */
const SEGMENT_BYTES = 256 * 1024;
const KEY_NAME = "k0123456789abcdef.key";
/** Media the packager rounds chew through (seconds); the same for clear and encrypted. */
const COPY_MEDIA_SEC = 300;
const LADDER_MEDIA_SEC = 40;
const CPU_ROUNDS = 3;

const missing = ["wrk", "ffmpeg", "/usr/bin/time"].filter((tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0);
if (missing.length > 0) {
  console.log(`hls-keys: skipped, not installed: ${missing.join(", ")} (Debian: apt-get install -y wrk ffmpeg time)`);
  process.exit(0);
}

const root = mkdtempSync(join(tmpdir(), "va-bench-keys-"));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
try {
  await keyRequests();
  await packagerCpu();
} finally {
  rmSync(root, { recursive: true, force: true });
}

/** Part 1: a key against a segment of the same channel, through the same gate and session. */
async function keyRequests(): Promise<void> {
  const channelDir = join(root, "hls", "live", "bench");
  const keysDir = join(root, "keys", "live", "bench");
  mkdirSync(channelDir, { recursive: true });
  mkdirSync(keysDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(keysDir, KEY_NAME), randomBytes(16), { mode: 0o600 });
  const lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2", "#EXT-X-MEDIA-SEQUENCE:100"];
  lines.push(`#EXT-X-KEY:METHOD=AES-128,URI="${KEY_NAME}"`);
  for (let i = 100; i < 106; i++) {
    lines.push("#EXTINF:2.000,", `seg_${i}.ts`);
    writeFileSync(join(channelDir, `seg_${i}.ts`), randomBytes(SEGMENT_BYTES));
  }
  writeFileSync(join(channelDir, "index.m3u8"), lines.join("\n") + "\n");
  const gate = await startStandaloneGate(join(root, "hls"), undefined, { keysDir: join(root, "keys") });
  try {
    const base = `http://127.0.0.1:${gate.port}/live/bench`;
    const key = /vas=([A-Za-z0-9_-]+)/.exec(await (await fetch(`${base}/index.m3u8`)).text())![1]!;
    const urls = { key: `${base}/${KEY_NAME}?vas=${key}`, segment: `${base}/seg_102.ts?vas=${key}` };
    for (const url of Object.values(urls)) {
      const status = (await fetch(url)).status;
      if (status !== 200) throw new Error(`${url}: status ${status}`);
    }
    type Run = { rps: number; p99Ms: number; errors: number };
    const runs = { key: [] as Run[], segment: [] as Run[] };
    await wrk(urls.key, 1); // warm-up
    await wrk(urls.segment, 1);
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? (["segment", "key"] as const) : (["key", "segment"] as const);
      for (const kind of order) runs[kind].push(await wrk(urls[kind], SECONDS));
    }
    const errors = [...runs.key, ...runs.segment].reduce((a, x) => a + x.errors, 0);
    const s = { rps: median(runs.segment.map((x) => x.rps)), p99: median(runs.segment.map((x) => x.p99Ms)) };
    const k = { rps: median(runs.key.map((x) => x.rps)), p99: median(runs.key.map((x) => x.p99Ms)) };
    report("HLS segment (256 KiB), session key (baseline)", { reqPerSec: round(s.rps, 0), p99Ms: round(s.p99, 2) });
    report("HLS AES-128 key, same session", {
      reqPerSec: round(k.rps, 0),
      p99Ms: round(k.p99, 2),
      ratioVsSegment: round(median(runs.key.map((x, i) => x.rps / runs.segment[i]!.rps)), 2),
      p99VsSegment: round(k.p99 / s.p99, 2),
      roundRatios: runs.key.map((x, i) => round(x.rps / runs.segment[i]!.rps, 2)).join("/"),
      ...(errors > 0 ? { wrkErrors: errors } : {}),
    });
  } finally {
    await gate.close();
  }
}

/** Part 2: CPU seconds of the packager, clear vs encrypted, on the same media. */
async function packagerCpu(): Promise<void> {
  const source = join(root, "source.flv");
  const made = spawnSync("ffmpeg", [
    ...["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25"],
    ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", String(COPY_MEDIA_SEC)],
    ...["-c:v", "libx264", "-preset", "ultrafast", "-b:v", "1000k", "-g", "50", "-pix_fmt", "yuv420p"],
    ...["-c:a", "aac", "-b:a", "64k", "-f", "flv", source],
  ]);
  if (made.status !== 0) throw new Error(`could not make the source: ${made.stderr.toString()}`);
  const copy = channelOf({ id: "copy" });
  const ladder = channelOf({
    id: "ladder",
    renditions: [
      { name: "360p", width: 640, height: 360, videoBitrateKbps: 800, audioBitrateKbps: 64, profile: "main", preset: "ultrafast" },
    ],
  });
  for (const [name, channel, mediaSec] of [
    ["single rendition (copy)", copy, COPY_MEDIA_SEC],
    ["one-rung ladder (x264 ultrafast 360p)", ladder, LADDER_MEDIA_SEC],
  ] as const) {
    const clear: number[] = [];
    const encrypted: number[] = [];
    for (let r = 0; r < CPU_ROUNDS; r++) {
      const order = r % 2 === 0 ? [false, true] : [true, false];
      for (const enc of order)
        (enc ? encrypted : clear).push(await packagerCpuSec(channel, source, mediaSec, enc, `${channel.id}-${r}-${enc}`));
    }
    report(`packager CPU, ${name}, clear (baseline)`, { mediaSec, cpuSec: round(median(clear), 2) });
    report(`packager CPU, ${name}, AES-128`, {
      mediaSec,
      cpuSec: round(median(encrypted), 2),
      ratioVsClear: round(median(encrypted.map((e, i) => e / clear[i]!)), 3),
      roundRatios: encrypted.map((e, i) => round(e / clear[i]!, 3)).join("/"),
      cpuPercentOfOneCoreAtRealTime: round((median(encrypted) / mediaSec) * 100, 2),
    });
  }
}

function channelOf(extra: Record<string, unknown>): ChannelConfig {
  const config = parseConfig(serverConfigSchema, {
    server: { dataDir: root },
    channels: [{ source: { type: "testPattern" }, hls: { segmentSec: 2, listSize: 6 }, ...extra }],
  });
  return config.channels[0]!;
}

/** One packager run over `source` (a file: as fast as ffmpeg goes), its user + system CPU seconds. */
async function packagerCpuSec(channel: ChannelConfig, source: string, mediaSec: number, encrypted: boolean, tag: string): Promise<number> {
  const hlsDir = join(root, "out", tag);
  mkdirSync(hlsDir, { recursive: true });
  // ffmpeg under /usr/bin/time: startPackager runs its program through its lifeline shell (exec), so this
  // wrapper is that program and the CPU is the packager's alone.
  const cpuFile = join(root, `${tag}.cpu`);
  const wrapper = join(root, `${tag}.sh`);
  writeFileSync(wrapper, `#!/bin/sh\nexec /usr/bin/time -f "%U %S" -o ${cpuFile} ffmpeg -t ${mediaSec} "$@"\n`);
  chmodSync(wrapper, 0o755);
  const rotator = encrypted
    ? new KeyRotator(
        join(root, "keys-cpu", tag),
        hlsDir,
        channel.renditions.length > 0 ? ["360p.m3u8"] : ["index.m3u8"],
        10,
        2,
        createLogger("silent"),
      )
    : undefined;
  rotator?.prepare();
  rotator?.start();
  const job = startPackager(channel, source, hlsDir, wrapper, rotator?.keyInfoFile);
  const lastLines: string[] = [];
  job.on("stderr", (line) => lastLines.push(line) > 5 && lastLines.shift());
  const error = await new Promise<string | null>((resolve) => job.once("exit", resolve));
  rotator?.stop();
  if (error !== null) throw new Error(`packager ${tag}: ${error}\n${lastLines.join("\n")}`);
  const [user, system] = readFileSync(cpuFile, "utf8").trim().split("\n").pop()!.split(" ").map(Number);
  rmSync(hlsDir, { recursive: true, force: true });
  return user! + system!;
}

/** One wrk run in its own process, with this bench's connections and threads. */
function wrk(url: string, seconds: number): Promise<WrkResult> {
  return runWrk(url, seconds, CONNECTIONS, THREADS);
}
