// Memory held by the backend step's verdict cache after 50,000 denied viewers, each with its own token
// and a 1 KiB User-Agent, asked through a real local node:http backend; then again once the cached
// denies have expired and the purge timer has run (memory must come back near the idle
// baseline measured in the same run). Run with --expose-gc (run-all does).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { type AuthRequest, parseConfig } from "../plugin/src/index.js";
import {
  CACHE_PURGE_INTERVAL_MS,
  createBackendAuthorizer,
  type Clock,
  backendSchema,
  createLogger,
  parseIpAddress,
  MemorySessionStore,
} from "../plugin/src/server-kit.js";
import { report, round } from "./bench-stats.js";

const VIEWERS = 50_000;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with node --expose-gc");
const MiB = 2 ** 20;
const memory = () => {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heapMB: round(m.heapUsed / MiB, 1), rssMB: round(m.rss / MiB, 1) };
};

let calls = 0;
const server = http.createServer((_req, res) => {
  calls++;
  res.writeHead(403, { "Content-Length": "0" });
  res.end();
});
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth`;

// Time the cache sees moves only when told, so the denies expire without waiting for denyTtlSec.
let nowMs = Date.now();
const clock: Clock = { now: () => nowMs };
const log = createLogger("silent");
// cacheEntries above what cacheMaxBytes holds, so that the byte bound is the one that binds.
const config = parseConfig(backendSchema, { type: "http-request", url, denyTtlSec: 5, cacheEntries: 100_000, connections: 16 });
const step = createBackendAuthorizer(config, { sessions: new MemorySessionStore(clock, log), clock }, log);

const ua = "Mozilla/5.0 (bench) ".padEnd(1024, "u");
function viewer(i: number): AuthRequest {
  const query = `token=denied-${i}`;
  return {
    action: "play",
    sessionId: `s${i}`,
    protocol: "http-flv",
    ip: "198.51.100.20",
    address: parseIpAddress("198.51.100.20"),
    app: "live",
    channel: "news",
    path: "/live/news.flv",
    query,
    params: new URLSearchParams(query),
    userAgent: `${ua}${i}`,
    host: "127.0.0.1:8000",
    origin: "http://127.0.0.1:8000",
    purpose: "new",
    requestNumber: 1,
  };
}

// Warm up (JIT, keep-alive sockets), let those denies expire and be purged, then take the baseline.
for (let i = 0; i < 500; i++) await step.decide(viewer(-1 - i));
nowMs += 6_000;
await new Promise((r) => setTimeout(r, CACHE_PURGE_INTERVAL_MS + 500));
const idle = memory();
report("verdict cache, idle (baseline)", idle);

let next = 0;
await Promise.all(
  Array.from({ length: 16 }, async () => {
    while (next < VIEWERS) await step.decide(viewer(next++));
  }),
);
const filled = memory();
report(`verdict cache, ${VIEWERS.toLocaleString("en")} denies cached`, {
  ...filled,
  overIdleHeapMB: round(filled.heapMB - idle.heapMB, 1),
  backendCalls: calls,
});

nowMs += 6_000; // every deny has expired (denyTtlSec 5); nobody asks for them again
await new Promise((r) => setTimeout(r, CACHE_PURGE_INTERVAL_MS + 500));
const purged = memory();
report("verdict cache, after the purge", { ...purged, overIdleHeapMB: round(purged.heapMB - idle.heapMB, 1), target: "<5MB over idle" });

await step.close?.();
server.close();
