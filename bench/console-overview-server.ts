// The server side of bench/console-overview.bench.ts, in its own process so its CPU time is its own: an
// in-process plugin with the management API on loopback and 10,000 admitted sessions whose byte counters
// move all the time. Prints the API's port, then runs until killed.
import { buildViewerAuth, parseConfig, pluginConfigSchema, type PluginConfig } from "../plugin/src/index.js";
import { createLogger } from "../plugin/src/server-kit.js";
import { openBenchSession } from "./console-bench-sessions.js";
import { TEST_API_TOKEN } from "../test/helpers/api-tokens.js";

const SESSIONS = Number(process.argv[2] ?? 10_000);
const config = parseConfig(pluginConfigSchema, {
  api: { enabled: true, port: 0, token: TEST_API_TOKEN },
  log: { level: "warn" },
}) as PluginConfig;
const auth = buildViewerAuth(config, { logger: createLogger("warn") });
await auth.start();
const startedAt = Date.now();
for (let i = 0; i < SESSIONS; i++) openBenchSession(auth, i, startedAt);
console.log(JSON.stringify({ port: auth.api!.port }));
process.on("SIGTERM", () => void auth.detach().finally(() => process.exit(0)));
