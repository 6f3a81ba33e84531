// Management API list latency with 10,000 live sessions: `GET /api/sessions` (the full list) and
// `GET /api/sessions?channel=…` (one channel's 100), against `GET /api/health` on the same server,
// with the same bearer check and JSON reply but no list (the baseline, measured in the same run).
import { Agent, request } from "undici";
import {
  AuthChain,
  PROTOCOLS,
  ManagementApi,
  systemClock,
  createLogger,
  PluginMetrics,
  MemorySessionStore,
  SessionRechecker,
  RevocationList,
  DecisionLog,
  ViewerHistory,
  AuditTrail,
  OverviewCounters,
} from "../plugin/src/server-kit.js";
import { report, round, timeEach, type Percentiles } from "./bench-stats.js";
import { TEST_API_TOKEN } from "../test/helpers/api-tokens.js";

const SESSIONS = 10_000;
const CHANNELS = 100;
const ITERATIONS = 200;
const ROUNDS = 3;
const TOKEN = TEST_API_TOKEN;

const log = createLogger("silent");
const registry = new MemorySessionStore(systemClock, log);
for (let i = 0; i < SESSIONS; i++) {
  const bytes = 1_000_000 + i;
  const session = registry.open({
    protocol: PROTOCOLS[i % PROTOCOLS.length]!,
    app: "live",
    channel: `ch${i % CHANNELS}`,
    ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    userAgent: "bench-player/1.0",
    transport: { bytesOut: () => bytes, close() {} },
  });
  registry.admit(session, { identity: { name: `viewer-${i}`, userId: `u${i % 2500}` }, request: undefined });
}

const chain = new AuthChain([], "deny", log);
const metrics = new PluginMetrics(chain, registry, log);
const rechecker = new SessionRechecker(chain, registry, 0, log);
const api = new ManagementApi(
  { bind: "127.0.0.1", port: 0, token: TOKEN },
  registry,
  {
    ledger: undefined,
    metrics,
    rechecker,
    users: undefined,
    revocation: {
      targets: { registry, revocations: new RevocationList(systemClock), forgetVerdicts: () => {} },
      cluster: undefined,
      revokedForSec: () => 86_400,
      clock: systemClock,
      log,
    },
    audit: new AuditTrail(systemClock, log, { retentionDays: 90 }),
    decisions: new DecisionLog(chain, systemClock),
    history: new ViewerHistory(registry, systemClock),
    overview: new OverviewCounters(chain, registry, systemClock, undefined),
    securetoken: () => ({ format: "astra", secrets: [], clockSkewSec: 30, maxLifetimeSec: 86400, bindIp: true, maxUses: 0 }),
  },
  {},
  systemClock,
  log,
);
const port = await api.listen();
// One keep-alive connection, one request at a time: latency, not throughput.
const dispatcher = new Agent({ connections: 1, pipelining: 1 });
const headers = { authorization: `Bearer ${TOKEN}` };

let lastBytes = 0;
async function get(path: string): Promise<void> {
  const { statusCode, body } = await request(`http://127.0.0.1:${port}${path}`, { dispatcher, headers });
  const text = await body.text();
  if (statusCode !== 200) throw new Error(`${path}: HTTP ${statusCode} ${text.slice(0, 80)}`);
  lastBytes = Buffer.byteLength(text);
}

const routes = [
  { name: "GET /api/health (baseline)", path: () => "/api/health" },
  { name: `GET /api/sessions (${SESSIONS.toLocaleString("en")})`, path: () => "/api/sessions" },
  { name: `GET /api/sessions?channel=… (${SESSIONS / CHANNELS})`, path: (i: number) => `/api/sessions?channel=ch${i % CHANNELS}` },
  { name: "GET /api/sessions?limit=100&offset=… (page)", path: (i: number) => `/api/sessions?limit=100&offset=${(i * 100) % SESSIONS}` },
  { name: `GET /api/overview (${SESSIONS.toLocaleString("en")} playing)`, path: () => "/api/overview" },
];

// Rounds alternate the routes so a noisy neighbour hits all of them alike; the median round is kept.
const rounds: Percentiles[][] = [];
const bytes: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const results: Percentiles[] = [];
  for (const [index, route] of routes.entries()) {
    results.push(await timeEach(ITERATIONS, (i) => get(route.path(i))));
    bytes[index] = lastBytes;
  }
  rounds.push(results);
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const summary = routes.map((_, index) => ({
  p50Us: median(rounds.map((r) => r[index]!.p50Us)),
  p99Us: median(rounds.map((r) => r[index]!.p99Us)),
}));
const baseline = summary[0]!;
for (const [index, route] of routes.entries()) {
  const { p50Us, p99Us } = summary[index]!;
  const ratios: Record<string, number> =
    index === 0 ? {} : { p50VsHealth: round(p50Us / baseline.p50Us, 1), p99VsHealth: round(p99Us / baseline.p99Us, 1) };
  report(route.name, { p50Ms: round(p50Us / 1000, 3), p99Ms: round(p99Us / 1000, 3), replyBytes: bytes[index]!, ...ratios });
}

await dispatcher.close();
await api.close();
rechecker.close();
metrics.close();
