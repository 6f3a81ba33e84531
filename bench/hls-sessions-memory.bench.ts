// Memory held by 10,000 live HLS sessions opened through real playlist requests, against the idle
// process measured in the same run. Target: < 60 MB over idle. Run with --expose-gc (run-all does).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request } from "undici";
import { startStandaloneGate } from "./standalone-hls-gate.js";
import { report, round } from "./bench-stats.js";

const SESSIONS = 10_000;
const root = mkdtempSync(join(tmpdir(), "va-bench-mem-"));
const channelDir = join(root, "live", "bench");
mkdirSync(channelDir, { recursive: true });
writeFileSync(join(channelDir, "index.m3u8"), "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg_1.ts\n");
writeFileSync(join(channelDir, "seg_1.ts"), Buffer.alloc(1000));

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with node --expose-gc");
const heap = () => {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
};

const gate = await startStandaloneGate(root);
const dispatcher = new Agent({ connections: 32 });
const url = `http://127.0.0.1:${gate.port}/live/bench/index.m3u8?token=viewer`;
// Warm the process up (JIT, pools) so "idle" is a running server with no sessions.
for (let i = 0; i < 500; i++) await (await request(url, { dispatcher })).body.text();
for (const s of gate.ctx.registry.list()) gate.ctx.registry.end(s, "viewer-left");
gate.keys.sweep();
const idle = heap();
let opened = 0;
await Promise.all(
  Array.from({ length: 32 }, async () => {
    while (opened < SESSIONS) {
      opened++;
      await (await request(url, { dispatcher })).body.text();
    }
  }),
);
const live = gate.ctx.registry.size;
const withSessions = heap();
const overMb = (withSessions - idle) / 2 ** 20;
report("HLS sessions memory, idle (baseline)", { MB: round(idle / 2 ** 20, 1) });
report(`HLS sessions memory, ${live.toLocaleString("en")} live`, {
  MB: round(withSessions / 2 ** 20, 1),
  overIdleMB: round(overMb, 1),
  perSessionBytes: Math.round((withSessions - idle) / live),
  target: "<60MB",
});
await dispatcher.close();
await gate.close();
rmSync(root, { recursive: true, force: true });
