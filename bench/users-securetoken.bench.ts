// Decision time of the users step (token, and auth=login:password after the first verification) and of
// the securetoken step, with 100,000 users; against a chain with only the ip-deny step (the baseline,
// measured in the same run). Target: p99 under 20 µs per step.
import { performance } from "node:perf_hooks";
import { type AuthRequest, parseConfig, pluginConfigSchema, type PluginConfig, makeSecureLink, hashPassword } from "../plugin/src/index.js";
import {
  AuthChain,
  createIpDenyAuthorizer,
  buildChain,
  createSecureTokenAuthorizer,
  createUsersAuthorizer,
  systemClock,
  createLogger,
  parseIpAddress,
  IpRuleList,
  MemorySessionStore,
  UserStore,
} from "../plugin/src/server-kit.js";
import { report, round, timeEach } from "./bench-stats.js";

const USERS = 100_000;
const DISTINCT = 1024; // distinct requests cycled through (distinct pairs are each verified once with scrypt first)
const iterations = 100_000;
const TARGET_P99_US = 20;
const log = createLogger("silent");

function requestFor(query: string, i: number, path = "/live/test.flv"): AuthRequest {
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return {
    action: "play",
    sessionId: `s${i}`,
    protocol: "http-flv",
    ip,
    address: parseIpAddress(ip),
    app: "live",
    channel: "test",
    path,
    query,
    params: new URLSearchParams(query),
    userAgent: "",
    host: "",
    origin: "",
    purpose: "new",
    requestNumber: 1,
  };
}

// Every user shares one low-cost hash: the cached path does not depend on scrypt's cost, and 100,000
// distinct hashes would take minutes to make.
const sharedHash = await hashPassword("pw-shared", { cost: 1024, blockSize: 8, parallelization: 1 });
const loadStarted = performance.now();
const config = parseConfig(pluginConfigSchema, {
  log: { level: "silent" },
  auth: {
    packages: { basic: ["test", "news"] },
    users: Array.from({ length: USERS }, (_, i) => ({
      login: `user${i}`,
      password: sharedHash,
      tokens: [`token-${i}-${(i * 2654435761) >>> 0}`],
      packages: i % 2 === 0 ? ["basic"] : ["*"],
      ips: i % 10 === 0 ? ["10.0.0.0/8"] : [],
      maxConnections: 2,
    })),
    securetoken: { format: "astra", secrets: ["old-bench-secret", "bench-secret"] },
    bruteForce: { enabled: true },
  },
}) as PluginConfig;
const store = UserStore.open(config.auth, log)!;
report(`load + compile ${USERS.toLocaleString("en")} users`, { ms: round(performance.now() - loadStarted) });

const users = createUsersAuthorizer(store, { clock: systemClock, throttle: undefined, recheckIntervalSec: 300 });
const securetoken = createSecureTokenAuthorizer(config.auth.securetoken, systemClock, undefined);
const pick = (i: number) => (i * 7919) % USERS;

const tokenRequests = Array.from({ length: DISTINCT }, (_, i) => {
  const u = pick(i);
  return requestFor(`token=token-${u}-${(u * 2654435761) >>> 0}`, i);
});
const authRequests = Array.from({ length: DISTINCT }, (_, i) => requestFor(`auth=user${pick(i)}:pw-shared`, i));
const linkRequests = Array.from({ length: DISTINCT }, (_, i) => {
  const ip = requestFor("", i).ip;
  const link = makeSecureLink({ url: "http://h/live/test.flv", ip, lifetimeSec: 3600, secret: "bench-secret" });
  return requestFor(new URL(link).search.slice(1), i);
});

// First verification of each pair pays scrypt once; what is measured is every later check.
await Promise.all(authRequests.map((r) => users.decide(r)));

const noRules = new IpRuleList([]);
const baselineChain = new AuthChain([createIpDenyAuthorizer(() => noRules)], "deny", log);
const baseline = await timeEach(iterations, (i) => baselineChain.decide(tokenRequests[i % DISTINCT]!));
report("chain with only ip-deny (baseline)", { ...baseline });

const results: [string, Awaited<ReturnType<typeof timeEach>>][] = [
  ["users step, token=", await timeEach(iterations, (i) => users.decide(tokenRequests[i % DISTINCT]!))],
  ["users step, auth=login:password (cached)", await timeEach(iterations, (i) => users.decide(authRequests[i % DISTINCT]!))],
  ["securetoken step, astra link, 2 secrets", await timeEach(iterations, (i) => securetoken.decide(linkRequests[i % DISTINCT]!))],
];
const fullChain = buildChain(config, { sessions: new MemorySessionStore(systemClock, log), clock: systemClock, users: store }, log);
results.push(["whole chain (4 steps), token=", await timeEach(iterations, (i) => fullChain.decide(tokenRequests[i % DISTINCT]!))]);
results.push(["whole chain (4 steps), securetoken link", await timeEach(iterations, (i) => fullChain.decide(linkRequests[i % DISTINCT]!))]);
for (const [name, result] of results) {
  const verdict = name.startsWith("whole") ? "" : result.p99Us < TARGET_P99_US ? "ok" : "OVER";
  report(name, { ...result, p99VsBaseline: round(result.p99Us / baseline.p99Us), ...(verdict ? { target20us: verdict } : {}) });
}
await fullChain.close();
