import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { freePort } from "../nginx-secure-link.js";
import { REPO } from "./server-process.js";
import { TEST_API_TOKEN } from "../../test/helpers/api-tokens.js";

/** Where a generated server config puts things, and the ports it fixed (a restart reuses them). */
export interface SoakServerConfig {
  config: Record<string, unknown>;
  file: string;
  dataDir: string;
  hlsDir: string;
  ports: { rtmp: number; http: number; api: number };
}

/** The credential of the management API in every generated config (loopback only, for the probes). */
export const API_TOKEN = TEST_API_TOKEN;

/** The quick start's channel as samples/quickstart.yaml defines it (640×360, ~0.9 Mbit/s, 2 s segments). */
export function quickstartChannel(): Record<string, unknown> {
  const sample = parse(readFileSync(join(REPO, "samples/quickstart.yaml"), "utf8")) as { channels: Record<string, unknown>[] };
  return sample.channels[0]!;
}

/** A cheap channel for the scenarios that need one on air but do not measure its delivery. */
export function smallChannel(id = "test"): Record<string, unknown> {
  return {
    id,
    app: "live",
    source: { type: "testPattern", width: 160, height: 120, fps: 15 },
    transcode: { mode: "h264", videoBitrateKbps: 150, audioBitrateKbps: 32, preset: "ultrafast" },
    hls: { segmentSec: 1, listSize: 6 },
  };
}

/**
 * A bundled-server config in `dir`: loopback, fixed free ports, its own data directory, the API on (for
 * /api/ready), and the quick start's users file copied in (token `demo`). `sections` replace the defaults.
 */
export async function soakServerConfig(dir: string, sections: Record<string, unknown>): Promise<SoakServerConfig> {
  const ports = { rtmp: await freePort(), http: await freePort(), api: await freePort() };
  const dataDir = join(dir, "data");
  const usersFile = join(dir, "users.yaml");
  copyFileSync(join(REPO, "samples/quickstart-users.yaml"), usersFile);
  const config = {
    log: { level: "info" },
    auth: { defaultAction: "deny", usersFile },
    server: { bind: "127.0.0.1", rtmpPort: ports.rtmp, httpPort: ports.http, dataDir, restartInitialMs: 300, restartMaxMs: 2000 },
    api: { enabled: true, bind: "127.0.0.1", port: ports.api, token: API_TOKEN },
    channels: [],
    ...sections,
  };
  return { config, file: join(dir, "config.yaml"), dataDir, hlsDir: join(dataDir, "hls"), ports };
}
