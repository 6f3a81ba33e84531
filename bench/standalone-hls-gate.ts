// An HLS gate on a plain node:http server (no NMS), allowing everyone: what the HLS benches measure.
// Built with the plugin's one wiring (`buildViewerAuth`); the server hands every request to its HTTP handler.
import { createServer, type Server } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { parseConfig, pluginConfigSchema, type PluginConfig, type SessionStore, buildViewerAuth } from "../plugin/src/index.js";
import { createLogger, type HlsSessionKeys } from "../plugin/src/server-kit.js";

export interface StandaloneGate {
  server: Server;
  port: number;
  ctx: { registry: SessionStore };
  keys: HlsSessionKeys;
  close(): Promise<void>;
}

export async function startStandaloneGate(
  hlsDir: string,
  fallback: Parameters<typeof createServer>[1] = (_req, res) => res.writeHead(404).end(),
  hls: Record<string, unknown> = {},
): Promise<StandaloneGate> {
  const config = parseConfig(pluginConfigSchema, {
    log: { level: "silent" },
    auth: { defaultAction: "allow" },
    sessions: { recheckIntervalSec: 0 },
    hls: { dir: hlsDir, sessionIdleSec: 3600, ipBinding: "exact", ...hls },
  }) as PluginConfig;
  const auth = buildViewerAuth(config, { logger: createLogger("silent") });
  await auth.start(); // the HLS key sweep (building opens nothing)
  const handler = auth.httpHandler!;
  const server = createServer((req, res) => handler(req, res, () => fallback!(req, res)));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    server,
    ctx: { registry: auth.sessions },
    keys: auth.hlsKeys!,
    port: (server.address() as AddressInfo).port,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await auth.detach();
    },
  };
}
