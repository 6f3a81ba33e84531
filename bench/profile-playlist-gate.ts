// Profiling aid: a standalone gate on the hls-peer bench's files, printing the keyed playlist URL, until SIGTERM.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStandaloneGate } from "./standalone-hls-gate.js";

const root = mkdtempSync(join(tmpdir(), "va-prof-"));
const channelDir = join(root, "hls", "live", "bench");
mkdirSync(channelDir, { recursive: true });
const lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2", "#EXT-X-MEDIA-SEQUENCE:100"];
for (let i = 100; i < 106; i++) lines.push("#EXTINF:2.000,", `seg_${i}.ts`);
writeFileSync(join(channelDir, "index.m3u8"), lines.join("\n") + "\n");
for (let i = 100; i < 106; i++) writeFileSync(join(channelDir, `seg_${i}.ts`), randomBytes(512 * 1024));
const gate = await startStandaloneGate(join(root, "hls"));
const wrapper = await (await fetch(`http://127.0.0.1:${gate.port}/live/bench/index.m3u8`)).text();
const key = /vas=([A-Za-z0-9_-]+)/.exec(wrapper)![1]!;
console.log(`http://127.0.0.1:${gate.port}/live/bench/index.m3u8?vas=${key}`);
process.on("SIGTERM", () => void gate.close().then(() => process.exit(0)));
