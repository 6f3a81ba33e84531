// Backend step: backend calls per 1,000 joining viewers (cache + coalescing), and decision latency
// with a warm cache against the backend's own round trip (the baseline, measured in the same run
// against a local node:http backend).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { type AuthRequest, parseConfig } from "../plugin/src/index.js";
import {
  AuthChain,
  createBackendAuthorizer,
  systemClock,
  backendSchema,
  createLogger,
  parseIpAddress,
  MemorySessionStore,
} from "../plugin/src/server-kit.js";
import { report, round, timeEach } from "./bench-stats.js";

let calls = 0;
const server = http.createServer((_req, res) => {
  calls++;
  res.writeHead(200, { "X-AuthDuration": "600", "Content-Length": "0" });
  res.end();
});
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth`;

const log = createLogger("silent");
let sessionCounter = 0;
function viewer(token: string): AuthRequest {
  const query = `token=${token}`;
  return {
    action: "play",
    sessionId: `s${++sessionCounter}`,
    protocol: "http-flv",
    ip: "198.51.100.20",
    address: parseIpAddress("198.51.100.20"),
    app: "live",
    channel: "news",
    path: "/live/news.flv",
    query,
    params: new URLSearchParams(query),
    userAgent: "bench",
    host: "127.0.0.1:8000",
    origin: "http://127.0.0.1:8000",
    purpose: "new",
    requestNumber: 1,
  };
}

function freshChain(): AuthChain {
  const config = parseConfig(backendSchema, { type: "http-request", url });
  const step = createBackendAuthorizer(config, { sessions: new MemorySessionStore(systemClock, log), clock: systemClock }, log);
  return new AuthChain([step], "deny", log);
}

// 1,000 viewers join one channel with one token at the same moment, then 1,000 more one by one.
{
  const chain = freshChain();
  calls = 0;
  const verdicts = await Promise.all(Array.from({ length: 1000 }, () => chain.decide(viewer("shared"))));
  const concurrentCalls = calls;
  for (let i = 0; i < 1000; i++) await chain.decide(viewer("shared"));
  report("backend calls per 1,000 joining viewers", {
    concurrent: concurrentCalls,
    thenSequential: calls - concurrentCalls,
    allowed: verdicts.filter((v) => v.verdict === "allow").length,
  });
  await chain.close();
}

// Decision latency: every check a cache miss (a backend round trip) vs every check a warm-cache hit.
{
  const chain = freshChain();
  calls = 0;
  const roundTrip = await timeEach(3000, (i) => chain.decide(viewer(`cold-${i}-${Math.random()}`)));
  report("backend round trip (baseline, cache miss)", { ...roundTrip, backendCalls: calls });
  await chain.decide(viewer("warm"));
  const warm = await timeEach(100_000, () => chain.decide(viewer("warm")));
  report("warm cache hit", {
    ...warm,
    p50VsRoundTrip: round(warm.p50Us / roundTrip.p50Us, 4),
    speedupP50: round(roundTrip.p50Us / warm.p50Us, 1),
  });
  await chain.close();
}

server.close();
