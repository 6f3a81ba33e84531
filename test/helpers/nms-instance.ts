import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import NodeMediaServer from "node-media-server";
import { Context } from "./nms4-internals.js";
import { runNms } from "../../plugin/src/hosts/nms4/run-nms.js";
import { attachViewerAuth, type PluginConfigInput, type ViewerAuthDeps, type ViewerAuthHandle } from "../../plugin/src/index.js";
import { createCapturingLogger, type CapturedLog } from "./capturing-logger.js";
import { publishTestPattern, stopProcess } from "./ffmpeg.js";

/** A real node-media-server on OS-picked loopback ports with the plugin attached. */
export interface NmsInstance {
  nms: NodeMediaServer;
  auth: ViewerAuthHandle;
  rtmpPort: number;
  httpPort: number;
  logs: CapturedLog;
  stop(): Promise<void>;
}

/**
 * Starts NMS with the plugin. `bind` defaults to loopback IPv4; pass "::" for dual-stack tests.
 * NMS keeps process-wide state, so one instance at a time per test process.
 */
export async function startNms(config: PluginConfigInput = {}, deps: ViewerAuthDeps = {}, bind = "127.0.0.1"): Promise<NmsInstance> {
  const storeDir = mkdtempSync(join(tmpdir(), "va-nms-store-"));
  // The string "0" makes NMS 4.4.3 listen on an ephemeral port (numeric 0 means "no listener").
  const nms = new NodeMediaServer({ bind, rtmp: { port: "0" }, http: { port: "0" }, store: { path: storeDir } });
  const logs = createCapturingLogger();
  const auth = attachViewerAuth(nms, config, { logger: logs.logger, ...deps });
  const ports = await runNms(nms);
  return {
    nms,
    auth,
    rtmpPort: ports.rtmp,
    httpPort: ports.http,
    logs,
    async stop() {
      await auth.detach();
      await nms.stop();
      for (const session of Context.sessions.values()) session.close();
      Context.sessions.clear();
      Context.broadcasts.clear();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

/** Waits until NMS has a live publisher on the path. */
export async function waitForPublisher(streamPath: string, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const broadcast = Context.broadcasts.get(streamPath);
    if (broadcast?.publisher != null) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no publisher on ${streamPath} after ${timeoutMs} ms`);
}

/**
 * Starts NMS with the plugin and a live ffmpeg test-pattern publisher on `stream` (`live/name`, with
 * an optional `?query` for the publish URL); `stop()` ends the publisher, then NMS.
 */
export async function startPublishingNms(config: PluginConfigInput, stream: string, deps: ViewerAuthDeps = {}): Promise<NmsInstance> {
  const instance = await startNms(config, deps);
  const publisher = publishTestPattern(`rtmp://127.0.0.1:${instance.rtmpPort}/${stream}`);
  try {
    await waitForPublisher(`/${stream.split("?")[0]}`);
  } catch (error) {
    await stopProcess(publisher);
    await instance.stop();
    throw error;
  }
  return {
    ...instance,
    async stop() {
      await stopProcess(publisher);
      await instance.stop();
    },
  };
}
