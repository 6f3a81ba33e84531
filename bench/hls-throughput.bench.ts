// Gated HLS segment throughput against the same files served ungated by the same process (a plain
// stat + stream handler), as a ratio from one run. Target: >= 0.92.
import { createReadStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { stat } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { Agent, request } from "undici";
import { startStandaloneGate } from "./standalone-hls-gate.js";
import { report, round } from "./bench-stats.js";

const SEGMENTS = 8;
const SEGMENT_BYTES = 512 * 1024;
const CONCURRENCY = 16;
const DURATION_MS = 4000;

const root = mkdtempSync(join(tmpdir(), "va-bench-hls-"));
const channelDir = join(root, "live", "bench");
mkdirSync(channelDir, { recursive: true });
const lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2", "#EXT-X-MEDIA-SEQUENCE:1"];
for (let i = 1; i <= SEGMENTS; i++) {
  writeFileSync(join(channelDir, `seg_${i}.ts`), randomBytes(SEGMENT_BYTES));
  lines.push("#EXTINF:2.000,", `seg_${i}.ts`);
}
writeFileSync(join(channelDir, "index.m3u8"), lines.join("\n") + "\n");

// The ungated baseline: the same files from the same process, on a second plain server with no
// session check and no chain (a stat and a stream, as the gate does after its check).
const plainServer = createServer((req, res) => {
  const file = join(channelDir, (req.url ?? "").split("?")[0]!.slice(1));
  void stat(file).then((info) => {
    res.writeHead(200, { "Content-Type": "video/mp2t", "Content-Length": String(info.size) });
    createReadStream(file).pipe(res);
  });
});
plainServer.listen(0, "127.0.0.1");
await once(plainServer, "listening");
const plainBase = `http://127.0.0.1:${(plainServer.address() as AddressInfo).port}`;
const gate = await startStandaloneGate(root);
const base = `http://127.0.0.1:${gate.port}`;
const wrapper = await (await fetch(`${base}/live/bench/index.m3u8`)).text();
const key = /vas=([A-Za-z0-9_-]+)/.exec(wrapper)![1]!;
const dispatcher = new Agent({ connections: CONCURRENCY, pipelining: 1 });

async function throughput(urlOf: (i: number) => string): Promise<number> {
  let bytes = 0;
  const deadline = Date.now() + DURATION_MS;
  const started = Date.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async (_, worker) => {
    for (let i = worker; Date.now() < deadline; i++) {
      const { body } = await request(urlOf(i), { dispatcher });
      for await (const chunk of body) bytes += (chunk as Buffer).length;
    }
  }));
  return bytes / ((Date.now() - started) / 1000);
}

const segment = (i: number) => `seg_${(i % SEGMENTS) + 1}.ts`;
await throughput((i) => `${plainBase}/${segment(i)}`); // warm-up
const results: { gated: number; plain: number }[] = [];
for (let round_ = 0; round_ < 3; round_++) {
  const plain = await throughput((i) => `${plainBase}/${segment(i)}`);
  const gated = await throughput((i) => `${base}/live/bench/${segment(i)}?vas=${key}`);
  results.push({ gated, plain });
}
const plain = results.reduce((a, r) => a + r.plain, 0) / results.length;
const gated = results.reduce((a, r) => a + r.gated, 0) / results.length;
report("HLS segments, ungated (baseline)", { MiBps: round(plain / 2 ** 20, 1) });
report("HLS segments, gated (session key)", { MiBps: round(gated / 2 ** 20, 1), ratioVsUngated: round(gated / plain, 3), target: ">=0.92" });
await dispatcher.close();
await gate.close();
plainServer.closeAllConnections();
plainServer.close();
rmSync(root, { recursive: true, force: true });
