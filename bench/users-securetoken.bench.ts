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
  createJwtAuthorizer,
  systemClock,
  createLogger,
  parseIpAddress,
  IpRuleList,
  MemorySessionStore,
  UserStore,
} from "../plugin/src/server-kit.js";
import { report, round, timeEach } from "./bench-stats.js";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

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

// JWT: one verify per request (HS256 with two secrets, the right one second; RS256 with a key from a
// local JWKS endpoint, fetched once), then the chain's local layers with the JWT step on.
const JWT_SECRETS = ["an-older-bench-secret-of-32-bytes!!", "the-current-bench-secret-of-32-bytes"];
const { privateKey, publicKey } = await generateKeyPair("RS256");
const jwk = { ...(await exportJWK(publicKey)), kid: "bench", alg: "RS256" };
const jwksServer = createServer((_req, res) =>
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] })),
);
await new Promise<void>((resolve) => jwksServer.listen(0, "127.0.0.1", resolve));
const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
const jwtConfig = parseConfig(pluginConfigSchema, {
  log: { level: "silent" },
  auth: { packages: { basic: ["test"] }, jwt: { secrets: JWT_SECRETS, jwksUrl }, bruteForce: { enabled: true } },
}) as PluginConfig;
const jwtStep = createJwtAuthorizer(jwtConfig.auth.jwt!, {
  clock: systemClock,
  log,
  throttle: undefined,
  packages: () => jwtConfig.auth.packages,
});
const expSec = Math.floor(Date.now() / 1000) + 3600;
const hsKey = new TextEncoder().encode(JWT_SECRETS[1]);
const hsRequests = await Promise.all(
  Array.from({ length: DISTINCT }, async (_, i) =>
    requestFor(
      `token=${await new SignJWT({ sub: `u${i}`, packages: ["basic"], exp: expSec }).setProtectedHeader({ alg: "HS256" }).sign(hsKey)}`,
      i,
    ),
  ),
);
const rsRequests = await Promise.all(
  Array.from({ length: DISTINCT }, async (_, i) =>
    requestFor(
      `token=${await new SignJWT({ sub: `u${i}`, channels: ["test"], exp: expSec }).setProtectedHeader({ alg: "RS256", kid: "bench" }).sign(privateKey)}`,
      i,
    ),
  ),
);
const JWT_ITERATIONS = 20_000;
const hs = await timeEach(JWT_ITERATIONS, (i) => jwtStep.decide(hsRequests[i % DISTINCT]!));
report("jwt step, HS256 verify (2 secrets)", { ...hs });
const rs = await timeEach(JWT_ITERATIONS, (i) => jwtStep.decide(rsRequests[i % DISTINCT]!));
report("jwt step, RS256 verify (JWKS, cached)", { ...rs });
// The chain's local layers (ip-deny, ip-allow, geo, jwt, default) with JWT HS256 and a country rule on,
// from public addresses (so the country lookup walks the whole tree): a value that is no JWT runs every
// local layer; an HS256 token adds its verify.
const withPublicAddress = (request: AuthRequest, i: number): AuthRequest => {
  const ip = `${[8, 81, 77, 151, 185, 45][i % 6]}.${(i * 37) & 255}.${(i * 101) & 255}.${(i * 7) & 255}`;
  return { ...request, ip, address: parseIpAddress(ip) };
};
const geoConfig = parseConfig(pluginConfigSchema, {
  log: { level: "silent" },
  auth: {
    packages: { basic: ["test"] },
    jwt: { secrets: JWT_SECRETS },
    geo: { countryDatabase: "node_modules/@ip-location-db/geolite2-country-mmdb/geolite2-country.mmdb", denyCountries: ["KP"] },
  },
}) as PluginConfig;
const geoChain = buildChain(geoConfig, { sessions: new MemorySessionStore(systemClock, log), clock: systemClock }, log);
await geoChain.start();
const geoStep = geoChain.step("geo")!;
const publicHs = hsRequests.map(withPublicAddress);
const publicOther = linkRequests.map(withPublicAddress);
const lookup = await timeEach(iterations, (i) => geoStep.decide(publicOther[i % DISTINCT]!));
report("geo step, mmdb country lookup (GeoLite2)", { ...lookup, target20us: lookup.p99Us < TARGET_P99_US ? "ok" : "OVER" });
const layers = await timeEach(iterations, (i) => geoChain.decide(publicOther[i % DISTINCT]!));
report("chain local layers, JWT HS256 + country rule on", { ...layers, target20us: layers.p99Us < TARGET_P99_US ? "ok" : "OVER" });
const chainHs = await timeEach(JWT_ITERATIONS, (i) => geoChain.decide(publicHs[i % DISTINCT]!));
report("chain + HS256 token verify, country rule on", { ...chainHs });
await geoChain.close();
jwksServer.close();
