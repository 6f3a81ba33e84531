import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import type { Server as NetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import NodeMediaServer from "node-media-server";
import NodeMediaServer2 from "node-media-server-2";
import { nms2InternalsOf, type Nms2Server } from "../../plugin/src/hosts/nms2/nms2-internals.js";
import { freePort } from "./free-port.js";
import { Context } from "./nms4-internals.js";
import { runNms } from "../../plugin/src/hosts/nms4/run-nms.js";
import { attachViewerAuth, type PluginConfigInput, type ViewerAuthDeps, type ViewerAuthHandle } from "../../plugin/src/index.js";
import { createCapturingLogger, type CapturedLog } from "./capturing-logger.js";
import { publishTestPattern, stopProcess, testPatternEncoding, testPatternInputs } from "./ffmpeg.js";
import { waitUntil } from "./wait-for.js";

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
 * `nmsOptions` adds to NMS's own configuration (its `auth`, say). NMS keeps process-wide state, so one
 * instance at a time per test process.
 */
export async function startNms(
  config: PluginConfigInput = {},
  deps: ViewerAuthDeps = {},
  bind = "127.0.0.1",
  nmsOptions: Record<string, unknown> = {},
): Promise<NmsInstance> {
  const storeDir = mkdtempSync(join(tmpdir(), "va-nms-store-"));
  // The string "0" makes NMS 4.4.3 listen on an ephemeral port (numeric 0 means "no listener").
  const nms = new NodeMediaServer({ ...nmsOptions, bind, rtmp: { port: "0" }, http: { port: "0" }, store: { path: storeDir } });
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
  await waitUntil(`a publisher on ${streamPath}`, () => Context.broadcasts.get(streamPath)?.publisher != null, timeoutMs, 50);
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

/** The node-media-server lines the version matrix runs against (both installed: 4.x as `node-media-server`, 2.7 as the alias `node-media-server-2`). */
export const NMS_LINES = ["2.7.4", "4.4.3"] as const;
export type NmsLine = (typeof NMS_LINES)[number];

/** A real NMS of one line with the plugin attached through the public `attachViewerAuth`, and HLS written for it. */
export interface LineNms {
  readonly line: NmsLine;
  readonly auth: ViewerAuthHandle;
  readonly rtmpPort: number;
  readonly httpPort: number;
  readonly logs: CapturedLog;
  /** Where a channel's HLS lands: NMS 2.7's trans output under mediaroot, or the plugin's `hls.dir` fed by a test ffmpeg on 4.x. */
  readonly hlsRoot: string;
  /** The NMS instance (a 2.7 or a 4.x NodeMediaServer). */
  readonly nms: object;
  /** Starts an ffmpeg publisher on `live/<stream>` and waits until NMS has it (and, on 4.x, an ffmpeg writing its HLS). */
  publish(stream: string): Promise<void>;
  /** Starts an ffmpeg publisher on `live/<stream>` and waits for NMS to have it, not for any HLS. */
  publishOnly(stream: string): Promise<void>;
  /** True when NMS has a live publisher on `/live/<stream>`. */
  hasPublisher(stream: string): boolean;
  /** NMS's own play sessions (not publishers, not NMS's own trans ffmpeg) of `/live/<stream>`. */
  playSessions(stream: string): number;
  stop(): Promise<void>;
}

/**
 * Starts NMS of `line` on free loopback ports with the plugin attached. On 2.7.4 the configuration is
 * a typical app's: `trans` HLS for app `live` under a temporary mediaroot, no `hls` keys in the plugin
 * configuration (the adapter gates mediaroot by itself). On 4.4.3 the plugin's `hls.dir` is a temporary
 * folder that a test ffmpeg writes each published stream's HLS to.
 */
export async function startLineNms(line: NmsLine, config: PluginConfigInput = {}, deps: ViewerAuthDeps = {}): Promise<LineNms> {
  return line === "4.4.3" ? startLine4(config, deps) : startNms2(config, deps);
}

async function startLine4(config: PluginConfigInput, deps: ViewerAuthDeps): Promise<LineNms> {
  const hlsRoot = mkdtempSync(join(tmpdir(), "va-nms4-hls-"));
  const instance = await startNms({ ...config, hls: { ...config.hls, dir: hlsRoot } }, deps);
  const children: ChildProcess[] = [];
  return {
    line: "4.4.3",
    auth: instance.auth,
    rtmpPort: instance.rtmpPort,
    httpPort: instance.httpPort,
    logs: instance.logs,
    hlsRoot,
    nms: instance.nms,
    async publishOnly(stream) {
      children.push(publishTestPattern(`rtmp://127.0.0.1:${instance.rtmpPort}/live/${stream}`));
      await waitForPublisher(`/live/${stream}`);
    },
    async publish(stream) {
      children.push(publishTestPattern(`rtmp://127.0.0.1:${instance.rtmpPort}/live/${stream}`));
      await waitForPublisher(`/live/${stream}`);
      children.push(writeTestHls(join(hlsRoot, "live", stream)));
      await waitUntil(`HLS of ${stream}`, () => existsSync(join(hlsRoot, "live", stream, "index.m3u8")));
    },
    hasPublisher: (stream) => Context.broadcasts.get(`/live/${stream}`)?.publisher != null,
    playSessions: () => [...Context.sessions.values()].filter((s) => !s.isPublisher).length,
    async stop() {
      for (const child of children) await stopProcess(child);
      await instance.stop();
      rmSync(hlsRoot, { recursive: true, force: true });
    },
  };
}

/** NMS 2.7's trans server (`nms.nts`): one session per published stream of a trans app, with its ffmpeg. */
interface Nms2Trans {
  readonly transSessions: Map<string, { ffmpeg_exec?: ChildProcess }>;
}

/** How a test wants its NMS 2.7: its configuration changed, the plugin attached after `run()`. */
export interface Nms2Options {
  /** Changes the typical configuration (ports, mediaroot and trans already filled in). */
  readonly nmsConfig?: (config: Record<string, unknown> & { http: Record<string, unknown> }) => Record<string, unknown>;
  readonly attachAfterRun?: boolean;
}

/** A typical NMS 2.7 app (trans HLS for app `live` under a temporary mediaroot) with the plugin attached. */
export async function startNms2(config: PluginConfigInput = {}, deps: ViewerAuthDeps = {}, options: Nms2Options = {}): Promise<LineNms> {
  const mediaroot = mkdtempSync(join(tmpdir(), "va-nms2-media-"));
  const [rtmpPort, httpPort] = [await freePort(), await freePort()];
  const typical = {
    logType: 0,
    rtmp: { port: rtmpPort, chunk_size: 60000, gop_cache: true, ping: 30, ping_timeout: 60 },
    http: { port: httpPort, mediaroot, allow_origin: "*" } as Record<string, unknown>,
    trans: { ffmpeg: FFMPEG, tasks: [{ app: "live", hls: true, hlsFlags: "[hls_time=1:hls_list_size=4:hls_flags=delete_segments]" }] },
  };
  const nms = new NodeMediaServer2(options.nmsConfig?.(typical) ?? typical) as unknown as Nms2Server & {
    nrs?: { tcpServer: NetServer };
    nhs?: { httpServer: NetServer };
    nts?: Nms2Trans;
    stop(): void;
  };
  const internals = nms2InternalsOf(nms)!;
  const logs = createCapturingLogger();
  const attach = () => attachViewerAuth(nms, config, { logger: logs.logger, ...deps });
  let auth = options.attachAfterRun ? undefined : attach();
  // NMS 2.7's run() adds process-wide uncaughtException and SIGINT (exit) handlers: taken back after it.
  const before = { uncaught: process.listeners("uncaughtException"), sigint: process.listeners("SIGINT") };
  try {
    nms.run();
  } finally {
    for (const l of process.listeners("uncaughtException")) if (!before.uncaught.includes(l)) process.off("uncaughtException", l);
    for (const l of process.listeners("SIGINT")) if (!before.sigint.includes(l)) process.off("SIGINT", l);
  }
  await waitUntil("NMS 2.7 listening", () => nms.nrs!.tcpServer.listening && nms.nhs!.httpServer.listening);
  auth ??= attach();
  const publishers: ChildProcess[] = [];
  const transChildren = () => [...(nms.nts?.transSessions.values() ?? [])].filter((t) => t.ffmpeg_exec?.exitCode === null).length;
  return {
    line: "2.7.4",
    auth,
    rtmpPort,
    httpPort,
    logs,
    hlsRoot: mediaroot,
    nms,
    async publishOnly(stream) {
      publishers.push(publishTestPattern(`rtmp://127.0.0.1:${rtmpPort}/live/${stream}`));
      await waitUntil(`a publisher on /live/${stream}`, () => internals.context.publishers.has(`/live/${stream}`));
    },
    async publish(stream) {
      publishers.push(publishTestPattern(`rtmp://127.0.0.1:${rtmpPort}/live/${stream}`));
      await waitUntil(`a publisher on /live/${stream}`, () => internals.context.publishers.has(`/live/${stream}`));
      await waitUntil(`trans HLS of ${stream}`, () => existsSync(join(mediaroot, "live", stream, "index.m3u8")));
    },
    hasPublisher: (stream) => internals.context.publishers.has(`/live/${stream}`),
    // NMS's trans ffmpeg is a play session too: counted out.
    playSessions: () =>
      [...internals.context.sessions.values()].filter((s) => !(s as { isPublishing?: boolean }).isPublishing).length - transChildren(),
    async stop() {
      await auth.detach();
      for (const child of publishers) await stopProcess(child);
      await waitUntil("NMS 2.7's trans ffmpeg to exit", () => transChildren() === 0, 15000).catch(() => undefined);
      // NMS deletes a stopped trans's playlist and segments itself, and throws if one is gone first.
      await waitUntil("NMS 2.7 to delete the trans output", () => !hasHlsFiles(mediaroot), 15000).catch(() => undefined);
      // NMS's stop() drops FLV sessions before their sockets close, and its own doneConnect listener then throws: cut them first.
      for (const session of internals.context.sessions.values())
        (session as { req?: { socket: { destroy(): void } } }).req?.socket.destroy();
      await waitUntil(
        "NMS 2.7 to drop its FLV sessions",
        () => ![...internals.context.sessions.values()].some((s) => (s as { req?: unknown }).req !== undefined),
        5000,
      ).catch(() => undefined);
      nms.stop();
      internals.context.sessions.clear();
      internals.context.publishers.clear();
      (internals.context as unknown as { idlePlayers: Set<string> }).idlePlayers.clear();
      rmSync(mediaroot, { recursive: true, force: true });
    },
  };
}

const FFMPEG = execFileSync("sh", ["-c", "command -v ffmpeg || echo /usr/bin/ffmpeg"]).toString().trim();

/** A test-pattern ffmpeg writing live HLS (`index.m3u8`, `indexN.ts`, as NMS 2.7's trans does) into `dir`. */
function writeTestHls(dir: string): ChildProcess {
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    FFMPEG,
    [
      "-hide_banner",
      "-loglevel",
      "error",
      "-re",
      ...testPatternInputs(),
      ...testPatternEncoding(),
      "-f",
      "hls",
      "-hls_time",
      "1",
      "-hls_list_size",
      "4",
      "-hls_flags",
      "delete_segments",
      join(dir, "index.m3u8"),
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  child.stderr?.resume();
  return child;
}

/** True while a channel folder under `root/<app>/` holds a playlist or segment. */
function hasHlsFiles(root: string): boolean {
  for (const app of readdirSync(root)) {
    for (const channel of readdirSync(join(root, app))) {
      if (readdirSync(join(root, app, channel)).some((f) => /\.(ts|m3u8|mpd|m4s)$/.test(f))) return true;
    }
  }
  return false;
}

/** Polls `check` every 50 ms until it is true; throws after `timeoutMs` (the suite's poller, wait-for.ts). */
export { waitUntil } from "./wait-for.js";
