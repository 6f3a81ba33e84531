// An HLS gate on a plain node:http server (no NMS), allowing everyone: what the HLS benches measure.
import { createServer, type Server } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { buildChain } from "../plugin/src/chain/build-chain.js";
import { systemClock } from "../plugin/src/core/clock.js";
import { parseConfig } from "../plugin/src/config/parse-config.js";
import { pluginConfigSchema, type PluginConfig } from "../plugin/src/config/plugin-config-schema.js";
import type { GateContext } from "../plugin/src/gate/gate-context.js";
import { HlsGate } from "../plugin/src/hls/hls-gate.js";
import { HlsSessionKeys } from "../plugin/src/hls/hls-session-keys.js";
import { createLogger } from "../plugin/src/core/log.js";
import { AddressRules } from "../plugin/src/net/address-rules.js";
import { SessionLimiter } from "../plugin/src/sessions/session-limiter.js";
import { SessionRechecker } from "../plugin/src/sessions/session-rechecker.js";
import { MemorySessionStore } from "../plugin/src/sessions/memory-session-store.js";

export interface StandaloneGate {
  server: Server;
  port: number;
  ctx: GateContext;
  keys: HlsSessionKeys;
  close(): Promise<void>;
}

export async function startStandaloneGate(hlsDir: string, fallback: Parameters<typeof createServer>[1] = (_req, res) => res.writeHead(404).end()): Promise<StandaloneGate> {
  const config = parseConfig(pluginConfigSchema, { log: { level: "silent" }, auth: { defaultAction: "allow" }, hls: { dir: hlsDir, sessionIdleSec: 3600, ipBinding: "exact" } }) as PluginConfig;
  const log = createLogger("silent");
  const registry = new MemorySessionStore(systemClock, log);
  const addressRules = new AddressRules(config.auth);
  const chain = buildChain(config, { sessions: registry, clock: systemClock, addressRules }, log);
  const ctx: GateContext = {
    chain, registry, log,
    limiter: new SessionLimiter(registry, "reject-new"),
    rechecker: new SessionRechecker(chain, registry, 0, log),
    addressRules,
  };
  const keys = new HlsSessionKeys(registry, systemClock, 3600, "exact", log);
  const server = createServer(fallback);
  new HlsGate(ctx, keys, hlsDir, { hideUnknownChannels: config.hls.hideUnknownChannels }).attach(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    server, ctx, keys, port: (server.address() as AddressInfo).port,
    async close() {
      keys.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
