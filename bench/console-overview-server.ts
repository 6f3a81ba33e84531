// The server side of bench/console-overview.bench.ts, in its own process so its CPU time is its own: an
// in-process plugin with the management API on loopback and 10,000 admitted sessions whose byte counters
// move all the time. Prints the API's port, then runs until killed.
import { buildViewerAuth, parseConfig, pluginConfigSchema, type PluginConfig } from "../plugin/src/index.js";
import { PROTOCOLS, createLogger } from "../plugin/src/server-kit.js";
import { TEST_API_TOKEN } from "../test/helpers/api-tokens.js";

const SESSIONS = Number(process.argv[2] ?? 10_000);
const config = parseConfig(pluginConfigSchema, {
  api: { enabled: true, port: 0, token: TEST_API_TOKEN },
  log: { level: "warn" },
}) as PluginConfig;
const auth = buildViewerAuth(config, { logger: createLogger("warn") });
await auth.start();
const startedAt = Date.now();
// The same sessions as bench/console-live.bench.ts makes.
for (let i = 0; i < SESSIONS; i++) {
  const session = auth.sessions.open({
    protocol: PROTOCOLS[i % PROTOCOLS.length]!,
    app: "live",
    channel: `ch${i % 40}`,
    ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    userAgent: `bench-player/${i % 7}.0 (Linux)`,
    transport: { bytesOut: () => Math.floor((Date.now() - startedAt) * (100 + (i % 50))), close() {} },
  });
  auth.sessions.admit(session, { identity: { name: `viewer-${i}`, userId: `u${i % 2500}` }, request: undefined });
}
console.log(JSON.stringify({ port: auth.api!.port }));
process.on("SIGTERM", () => void auth.detach().finally(() => process.exit(0)));
