import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildServer, type BundledServer } from "../../server/src/build-server.js";
import { serverConfigSchema } from "../../server/src/server-config-schema.js";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import type { ViewerAuthDeps } from "../../plugin/src/index.js";
import { createCapturingLogger, type CapturedLog } from "./capturing-logger.js";
import { testChannel } from "./test-channel.js";

/** A started bundled server on OS-picked ports with a private data directory. */
export interface RunningServer {
  server: BundledServer;
  logs: CapturedLog;
  dataDir: string;
  httpBase: string;
  rtmpBase: string;
  stop(): Promise<void>;
}

/** Starts the server with `extra` merged over a loopback, port-0 base config. */
export async function startBundledServer(extra: Record<string, unknown> = {}, deps: ViewerAuthDeps = {}): Promise<RunningServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "va-server-"));
  const base = {
    server: { bind: "127.0.0.1", rtmpPort: 0, httpPort: 0, dataDir, restartInitialMs: 300, restartMaxMs: 2000 },
    channels: [testChannel("test")],
  };
  const config = parseConfig(serverConfigSchema, {
    ...base,
    ...extra,
    server: { ...base.server, ...(extra.server as object | undefined) },
  });
  const logs = createCapturingLogger();
  const server = buildServer(config, { logger: logs.logger, ...deps });
  await server.start();
  return {
    server,
    logs,
    dataDir,
    httpBase: `http://127.0.0.1:${server.ports.http}`,
    rtmpBase: `rtmp://127.0.0.1:${server.ports.rtmp}`,
    async stop() {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export { waitFor } from "./wait-for.js";
export { testChannel } from "./test-channel.js";
