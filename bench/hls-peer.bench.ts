// The gated HLS path against its peer, nginx with `secure_link` (the Debian package), on the same files and
// the same load: wrk in its own process, 16 connections, rounds alternating which server goes first. Prints
// segment and playlist req/s and p99 for each and the ratios gated/nginx against the delivery targets (segments ≥ 0.6×, playlists ≥ 0.8× nginx's req/s, p99 within 2×).
// Playlists also go against a bare node:http server answering the gate's very bytes and headers from memory:
// node's own HTTP stack on its one thread, the ceiling any gate in this process can reach, so the gap to
// nginx splits into what the gate adds and what node's HTTP stack costs against nginx's two workers. Then
// edge mode (hls.edge): nginx started from samples/nginx-edge.conf serving a segment URL the gate signed,
// against the plain nginx secure_link. Writes the lines to bench/results/hls-peer-<date>.md. Without wrk or nginx on the PATH it says so and exits 0 with no numbers.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStandaloneGate } from "./standalone-hls-gate.js";
import { startNginxEdge, stopNginx } from "./nginx-edge.js";
import { report, round } from "./bench-stats.js";
import { reportBlock, writeDatedResults } from "./results-file.js";
import { freePort, nginxBinary, startSecureLinkNginx } from "./nginx-secure-link.js";
import { runWrk, type WrkResult } from "./wrk-run.js";

const CONNECTIONS = 16;
const THREADS = 2;
const SECONDS = 3;
/** Rounds per comparison; each round runs both sides back to back, and the ratio is the median round's. */
const ROUNDS = 5;
const SEGMENT_BYTES = 512 * 1024;
const SECRET = "bench-secret";
const TARGETS = { segmentRatio: 0.6, playlistRatio: 0.8, p99Factor: 2, edgeRatio: 0.95 };
const EDGE_SECRET = "bench-edge-secret-0123456789";

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
// Edge mode: a second nginx from the sample, and a gate in edge mode whose playlist signs the segment URL.
const edgePort = await freePort();
const edgeNginx = startNginxEdge(
  { prefix: join(root, "nginx-edge"), port: edgePort, root: join(root, "hls"), secret: EDGE_SECRET, singleProcess: false },
  nginxBinary() ?? "/usr/sbin/nginx",
);
const edgeGate = await startStandaloneGate(join(root, "hls"), undefined, {
  edge: { baseUrl: `http://127.0.0.1:${edgePort}`, secret: EDGE_SECRET, expiresSeconds: 3600 },
});
let bareNode: Awaited<ReturnType<typeof startBareNode>> | undefined;
try {
  const wrapper = await (await fetch(`${gateBase}/live/bench/index.m3u8`)).text();
  const key = /vas=([A-Za-z0-9_-]+)/.exec(wrapper)![1]!;
  const edgeWrapper = await (await fetch(`http://127.0.0.1:${edgeGate.port}/live/bench/index.m3u8`)).text();
  const edgeKey = /vas=([A-Za-z0-9_-]+)/.exec(edgeWrapper)![1]!;
  const edgePlaylist = await (await fetch(`http://127.0.0.1:${edgeGate.port}/live/bench/index.m3u8?vas=${edgeKey}`)).text();
  const edgeSegment = edgePlaylist.split("\n").find((line) => line.startsWith(`http://127.0.0.1:${edgePort}/live/bench/seg_102.ts?md5=`));
  if (edgeSegment === undefined) throw new Error(`the edge gate's playlist has no signed edge URL for seg_102.ts:\n${edgePlaylist}`);
  await waitFor(async () => (await fetch(edgeSegment).catch(() => null))?.status === 200, "the edge nginx to serve the signed segment");
  const urls = {
    gated: { segment: `${gateBase}/live/bench/seg_102.ts?vas=${key}`, playlist: `${gateBase}/live/bench/index.m3u8?vas=${key}` },
    nginx: { segment: signed("/live/bench/seg_102.ts"), playlist: signed("/live/bench/index.m3u8") },
  };
  bareNode = await startBareNode(urls.gated.playlist);
  for (const side of ["gated", "nginx"] as const) {
    for (const kind of ["segment", "playlist"] as const) {
      const status = (await fetch(urls[side][kind])).status;
      if (status !== 200) throw new Error(`${side} ${kind}: status ${status}`);
    }
  }

  type Run = { rps: number; p99Ms: number; errors: number };
  const results = {
    gated: { segment: [] as Run[], playlist: [] as Run[] },
    nginx: { segment: [] as Run[], playlist: [] as Run[] },
    bare: { segment: [] as Run[], playlist: [] as Run[] },
  };
  const bareUrl = bareNode.url;
  const urlOf = (side: keyof typeof results, kind: "segment" | "playlist") => (side === "bare" ? bareUrl : urls[side][kind]);
  for (const kind of ["segment", "playlist"] as const) {
    // The ceiling (node:http with the gate's response and nothing else) only for playlists: segments beat nginx already.
    const sides = kind === "playlist" ? (["gated", "bare", "nginx"] as const) : (["gated", "nginx"] as const);
    for (const side of sides) await wrk(urlOf(side, kind), 1); // warm-up
    for (let r = 0; r < ROUNDS; r++) {
      // Each side goes first in turn: the machine's load drifts between rounds.
      const order = [...sides.slice(r % sides.length), ...sides.slice(0, r % sides.length)];
      for (const side of order) results[side][kind].push(await wrk(urlOf(side, kind), SECONDS));
    }
  }
  // Edge mode: nginx serving the gate's signed URL against nginx serving its own secure_link URL.
  const edgeRuns = { edge: [] as Run[], nginx: [] as Run[] };
  await wrk(edgeSegment, 1);
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? (["edge", "nginx"] as const) : (["nginx", "edge"] as const);
    for (const side of order) edgeRuns[side].push(await wrk(side === "edge" ? edgeSegment : urls.nginx.segment, SECONDS));
  }

  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const met = (ok: boolean) => (ok ? "met" : "NOT met");
  for (const kind of ["segment", "playlist"] as const) {
    const g = { rps: median(results.gated[kind].map((x) => x.rps)), p99: median(results.gated[kind].map((x) => x.p99Ms)) };
    const n = { rps: median(results.nginx[kind].map((x) => x.rps)), p99: median(results.nginx[kind].map((x) => x.p99Ms)) };
    const errors = [...results.gated[kind], ...results.nginx[kind]].reduce((a, x) => a + x.errors, 0);
    // Paired: the machine's load drifts between rounds, not within one back-to-back pair.
    const ratio = median(results.gated[kind].map((x, i) => x.rps / results.nginx[kind][i]!.rps));
    const target = kind === "segment" ? TARGETS.segmentRatio : TARGETS.playlistRatio;
    report(`HLS ${kind}, nginx secure_link`, { reqPerSec: round(n.rps, 0), p99Ms: round(n.p99, 2) });
    report(`HLS ${kind}, gated (session key)`, {
      reqPerSec: round(g.rps, 0),
      p99Ms: round(g.p99, 2),
      ratio: round(ratio, 2),
      [`target>=${target}`]: met(ratio >= target),
      p99VsNginx: round(g.p99 / n.p99, 2),
      [`target<=${TARGETS.p99Factor}x`]: met(g.p99 <= TARGETS.p99Factor * n.p99),
      roundRatios: results.gated[kind].map((x, i) => round(x.rps / results.nginx[kind][i]!.rps, 2)).join("/"),
      ...(errors > 0 ? { wrkErrors: errors } : {}),
    });
  }
  const bare = results.bare.playlist;
  report("HLS playlist, bare node:http (the gate's bytes)", {
    reqPerSec: round(median(bare.map((x) => x.rps)), 0),
    p99Ms: round(median(bare.map((x) => x.p99Ms)), 2),
    vsNginx: round(median(bare.map((x, i) => x.rps / results.nginx.playlist[i]!.rps)), 2),
    roundRatios: bare.map((x, i) => round(x.rps / results.nginx.playlist[i]!.rps, 2)).join("/"),
    gatedVsBareNode: round(median(results.gated.playlist.map((x, i) => x.rps / bare[i]!.rps)), 2),
  });
  const e = { rps: median(edgeRuns.edge.map((x) => x.rps)), p99: median(edgeRuns.edge.map((x) => x.p99Ms)) };
  const n = { rps: median(edgeRuns.nginx.map((x) => x.rps)), p99: median(edgeRuns.nginx.map((x) => x.p99Ms)) };
  const edgeRatio = median(edgeRuns.edge.map((x, i) => x.rps / edgeRuns.nginx[i]!.rps));
  const edgeErrors = [...edgeRuns.edge, ...edgeRuns.nginx].reduce((a, x) => a + x.errors, 0);
  report("HLS segment, nginx secure_link (this phase)", { reqPerSec: round(n.rps, 0), p99Ms: round(n.p99, 2) });
  report("HLS segment, edge mode (nginx, gate-signed)", {
    reqPerSec: round(e.rps, 0),
    p99Ms: round(e.p99, 2),
    ratio: round(edgeRatio, 2),
    [`target>=${TARGETS.edgeRatio}`]: met(edgeRatio >= TARGETS.edgeRatio),
    p99VsNginx: round(e.p99 / n.p99, 2),
    roundRatios: edgeRuns.edge.map((x, i) => round(x.rps / edgeRuns.nginx[i]!.rps, 2)).join("/"),
    ...(edgeErrors > 0 ? { wrkErrors: edgeErrors } : {}),
  });
  writeDatedResults(
    "hls-peer",
    reportBlock(
      "hls-peer",
      `wrk ${THREADS} threads, ${CONNECTIONS} connections, ${SECONDS} s, ${ROUNDS} rounds; ratios are the median round's`,
    ),
  );
} finally {
  await nginx.stop();
  await bareNode?.close();
  await stopNginx(edgeNginx);
  await edgeGate.close();
  await gate.close();
  rmSync(root, { recursive: true, force: true });
}

/** node:http answering, from memory, the status, headers and body the gate sent for `gatedUrl`. */
async function startBareNode(gatedUrl: string): Promise<{ url: string; close(): Promise<void> }> {
  const reply = await fetch(gatedUrl);
  const body = await reply.text(); // decoded once: the gate's one step per request is joining its parts
  const skip = new Set(["date", "connection", "keep-alive", "transfer-encoding"]);
  const headers = [...reply.headers].filter(([name]) => !skip.has(name)).flat();
  const server = createServer((_req, res) => {
    res.writeHead(reply.status, headers);
    res.end(body, "utf8"); // as the gate does: text, written in one go with the headers
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/live/bench/index.m3u8`,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** One wrk run in its own process, with this bench's connections and threads. */
function wrk(url: string, seconds: number): Promise<WrkResult> {
  return runWrk(url, seconds, CONNECTIONS, THREADS);
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
