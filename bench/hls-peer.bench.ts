// The gated HLS path against its peer, nginx with `secure_link` (the Debian package), on the same files and
// the same load: wrk in its own process, 16 connections, rounds alternating which server goes first. Prints
// segment and playlist req/s and p99 for each and the ratios gated/nginx against issue 16's targets.
// Without wrk or nginx on the PATH it says so and exits 0 with no numbers.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStandaloneGate } from "./standalone-hls-gate.js";
import { report, round } from "./bench-stats.js";
import { startSecureLinkNginx } from "./nginx-secure-link.js";

const CONNECTIONS = 16;
const THREADS = 2;
const SECONDS = 3;
const ROUNDS = 3;
const SEGMENT_BYTES = 512 * 1024;
const SECRET = "bench-secret";
const TARGETS = { segmentRatio: 0.6, playlistRatio: 0.5, p99Factor: 2 };

const missing = ["wrk", "nginx"].filter((tool) => spawnSync("sh", ["-c", `command -v ${tool} || test -x /usr/sbin/${tool}`]).status !== 0);
if (missing.length > 0) {
  console.log(`hls-peer: skipped, not installed: ${missing.join(", ")} (Debian: apt-get install -y nginx wrk)`);
  process.exit(0);
}

// One channel as a packager writes it: a 512 KiB segment and a media playlist. nginx's workers may run as
// another user, so the tree is world-readable.
const root = mkdtempSync(join(tmpdir(), "va-bench-peer-"));
const channelDir = join(root, "hls", "live", "bench");
mkdirSync(channelDir, { recursive: true });
const lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2", "#EXT-X-MEDIA-SEQUENCE:100"];
for (let i = 100; i < 106; i++) lines.push("#EXTINF:2.000,", `seg_${i}.ts`);
writeFileSync(join(channelDir, "index.m3u8"), lines.join("\n") + "\n");
for (let i = 100; i < 106; i++) writeFileSync(join(channelDir, `seg_${i}.ts`), randomBytes(SEGMENT_BYTES));
for (const dir of [root, join(root, "hls"), join(root, "hls", "live"), channelDir]) chmodSync(dir, 0o755);

// nginx, configured as the secure_link form in docs (expiry + path + client address), access log off.
const nginx = await startSecureLinkNginx({ root: join(root, "hls"), secret: SECRET, workDir: join(root, "nginx") });
const signed = nginx.signedUrl;

const gate = await startStandaloneGate(join(root, "hls"));
const gateBase = `http://127.0.0.1:${gate.port}`;
try {
  const wrapper = await (await fetch(`${gateBase}/live/bench/index.m3u8`)).text();
  const key = /vas=([A-Za-z0-9_-]+)/.exec(wrapper)![1]!;
  const urls = {
    gated: { segment: `${gateBase}/live/bench/seg_102.ts?vas=${key}`, playlist: `${gateBase}/live/bench/index.m3u8?vas=${key}` },
    nginx: { segment: signed("/live/bench/seg_102.ts"), playlist: signed("/live/bench/index.m3u8") },
  };
  for (const side of ["gated", "nginx"] as const) {
    for (const kind of ["segment", "playlist"] as const) {
      const status = (await fetch(urls[side][kind])).status;
      if (status !== 200) throw new Error(`${side} ${kind}: status ${status}`);
    }
  }

  type Run = { rps: number; p99Ms: number; errors: number };
  const results = { gated: { segment: [] as Run[], playlist: [] as Run[] }, nginx: { segment: [] as Run[], playlist: [] as Run[] } };
  for (const kind of ["segment", "playlist"] as const) {
    await wrk(urls.gated[kind], 1); // warm-up
    await wrk(urls.nginx[kind], 1);
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? (["gated", "nginx"] as const) : (["nginx", "gated"] as const);
      for (const side of order) results[side][kind].push(await wrk(urls[side][kind], SECONDS));
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const met = (ok: boolean) => (ok ? "met" : "NOT met");
  for (const kind of ["segment", "playlist"] as const) {
    const g = { rps: median(results.gated[kind].map((x) => x.rps)), p99: median(results.gated[kind].map((x) => x.p99Ms)) };
    const n = { rps: median(results.nginx[kind].map((x) => x.rps)), p99: median(results.nginx[kind].map((x) => x.p99Ms)) };
    const errors = [...results.gated[kind], ...results.nginx[kind]].reduce((a, x) => a + x.errors, 0);
    const ratio = g.rps / n.rps;
    const target = kind === "segment" ? TARGETS.segmentRatio : TARGETS.playlistRatio;
    report(`HLS ${kind}, nginx secure_link`, { reqPerSec: round(n.rps, 0), p99Ms: round(n.p99, 2) });
    report(`HLS ${kind}, gated (session key)`, {
      reqPerSec: round(g.rps, 0), p99Ms: round(g.p99, 2),
      ratio: round(ratio, 2), [`target>=${target}`]: met(ratio >= target),
      p99VsNginx: round(g.p99 / n.p99, 2), [`target<=${TARGETS.p99Factor}x`]: met(g.p99 <= TARGETS.p99Factor * n.p99),
      roundRatios: results.gated[kind].map((x, i) => round(x.rps / results.nginx[kind][i]!.rps, 2)).join("/"),
      ...(errors > 0 ? { wrkErrors: errors } : {}),
    });
  }
} finally {
  await nginx.stop();
  await gate.close();
  rmSync(root, { recursive: true, force: true });
}

/** One wrk run in its own process; req/s, p99 and socket/status errors from its report. */
async function wrk(url: string, seconds: number): Promise<{ rps: number; p99Ms: number; errors: number }> {
  const child = spawn("wrk", ["-t", String(THREADS), "-c", String(CONNECTIONS), "-d", `${seconds}s`, "--latency", url], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  if (code !== 0) throw new Error(`wrk exited ${code}: ${out}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p99 = /\n\s+99%\s+([\d.]+)(us|ms|s)\b/.exec(out);
  const errorCounts = [...(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)?.slice(1) ?? []), /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? "0"];
  if (!Number.isFinite(rps) || p99 === null) throw new Error(`unreadable wrk output: ${out}`);
  const scale = { us: 0.001, ms: 1, s: 1000 }[p99[2] as "us" | "ms" | "s"];
  return { rps, p99Ms: Number(p99[1]) * scale, errors: errorCounts.reduce((a, n) => a + Number(n), 0) };
}
