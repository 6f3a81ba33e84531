import { createRequire } from "node:module";
import { mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import NodeMediaServer from "node-media-server";
import {
  type ConfigReloadOutcome,
  type PluginConfig,
  buildViewerAuth,
  type ViewerAuth,
  type ViewerAuthDeps,
  createNms4Host,
  runNms,
  LocalProcesses,
} from "nms-viewer-auth";
import {
  stopAcceptingNms,
  routeNmsLogs,
  hostPackageResolvedBy,
  changedKeys,
  createLogger,
  configSecrets,
  Redactor,
  DEFAULT_PUBLISH_ALLOW_IPS,
  type Logger,
  pluginConfigShape,
  apiTokenAtBuild,
  systemClock,
} from "nms-viewer-auth/server-kit";
import { ChannelRunner, type ChannelStatus } from "./channels/channel-runner.js";
import type { ServerConfig } from "./server-config-schema.js";
import { servingUrls } from "./serving-urls.js";
import { dataModesFor, makeDataDirPrivate, makeHlsDir } from "./data-modes.js";

/** The bundled server: NMS + the plugin + the HLS gate + one supervised ffmpeg pair per channel. */
export interface BundledServer {
  readonly auth: ViewerAuth;
  readonly channels: readonly ChannelRunner[];
  /** Real ports, known after `start` (the config may say 0 for OS-picked). */
  readonly ports: { rtmp: number; http: number; api: number };
  start(): Promise<void>;
  /** Stops every ffmpeg child, then NMS; resolves when all have exited. */
  stop(): Promise<void>;
  channelStatus(): ChannelStatus[];
  /**
   * Takes over a changed configuration (SIGHUP): the plugin's reloadable keys now, and a warning
   * naming everything else that changed (`server`, `channels`, …), which waits for a restart.
   */
  reload(config: ServerConfig): ConfigReloadOutcome;
}

/**
 * Builds the server without starting it: nothing listens, no ffmpeg runs and nothing is written until
 * `start` (which makes the data directory private, writes a missing API token file, opens the ledger).
 * The one thing done at build beyond allocating is routing NMS's log lines into ours (routeNmsLogs,
 * below), because NMS's constructor already logs. Its own ffmpeg
 * children (each channel's ingest and packager) are let through the play chain and the publish policy
 * by their pids (`LocalProcesses`, proven from /proc), so no credential of the server's travels in
 * their URLs, that is in their command lines, which any local user can read.
 */
export function buildServer(config: ServerConfig, deps: ViewerAuthDeps = {}): BundledServer {
  const s = config.server;
  const dataDir = resolve(s.dataDir);
  const hlsRoot = hlsRootOf(config);
  const modes = dataModesFor(s.hlsGroupReadable);
  // The API token of `api.tokenFile` is read here (or made, to be written at start), so that the redactor has it.
  const tokenAtBuild = apiTokenAtBuild(pluginConfigOf(config));
  const pluginConfig = tokenAtBuild.config;
  // The ffmpeg children running now: the proof that a loopback RTMP play or publish is the server's own.
  const internalProcesses = deps.internalProcesses ?? new LocalProcesses();
  // Everything from the configuration or ffmpeg passes this before a log line, the API or the console.
  // The configured publish secrets too, though the server does not use them (pluginConfigOf).
  const redactor = new Redactor([
    ...configSecrets({ ...pluginConfig, publish: config.publish }),
    ...config.channels.flatMap(sourceCredentials),
  ]);
  const log = deps.logger ?? createLogger(config.log.level, undefined, redactor, config.log.format);
  // At build, not start: NMS's constructor below already logs, and our stdout carries JSON lines only.
  // It opens nothing (it replaces the `log` function of NMS's logger module, a process-wide singleton);
  // the route stays for the process's life (NMS's listeners log their close after stop resolves), and
  // the next server built in the same process takes it over.
  routeNmsLogs(log, hostPackageResolvedBy(createRequire(import.meta.url)));
  warnIfPublishConfigured(config, log);
  const nms = new NodeMediaServer({
    bind: s.bind,
    // NMS 4.4.3 reads numeric 0 as "no listener"; the string "0" asks the OS for a port.
    rtmp: { port: s.rtmpPort === 0 ? "0" : s.rtmpPort },
    http: { port: s.httpPort === 0 ? "0" : s.httpPort },
    store: { path: join(dataDir, "nms-store") },
    // No NMS `auth`: the plugin's publish gate decides every publisher (its own ingest by process proof),
    // so no NMS `sign` (made from a secret) travels in an ffmpeg command line.
    webadmin: { enable: false },
  });
  let channels: ChannelRunner[] = [];
  const ports = { rtmp: 0, http: 0, api: 0 };
  const apiProviders = {
    channels: () => channels.map((c) => c.status()),
    notReady: () => channelsNotUp(config, channels),
    hlsPort: () => ports.http,
  };
  const channelHealth = () =>
    channels.map((c) => {
      const status = c.status();
      return {
        channel: `${c.config.app}/${c.config.id}`,
        up: status.state === "up",
        restarts: { ingest: status.ingest.restarts, packager: status.packager.restarts },
      };
    });
  const auth = buildViewerAuth(pluginConfig, { ...deps, logger: log, internalProcesses, apiProviders, channelHealth });
  try {
    auth.attach(createNms4Host(nms)); // wraps NMS's internals; nothing listens until start
  } catch (error) {
    void auth.detach();
    throw error;
  }
  const policy = {
    initialMs: s.restartInitialMs,
    maxMs: s.restartMaxMs,
    stableAfterMs: s.stableAfterSec * 1000,
    stopTimeoutMs: s.stopTimeoutMs,
  };

  return {
    auth,
    get channels() {
      return channels;
    },
    ports,
    async start() {
      // Before anything is written into it (the API token file, the ledger, NMS's store): private, whatever the umask.
      makeDataDirPrivate(dataDir, hlsRoot, modes, [join(dataDir, "nms-store")]);
      tokenAtBuild.writeFile?.();
      rmSync(hlsRoot, { recursive: true, force: true }); // stale segments of a previous run must not be served
      makeHlsDir(hlsRoot, modes);
      // Keys of a previous run must not be served either; the folder is the server's alone, whatever hlsGroupReadable says.
      rmSync(keysDirOf(config), { recursive: true, force: true });
      mkdirSync(keysDirOf(config), { recursive: true, mode: 0o700 });
      const nmsPorts = await runNms(nms);
      await auth.start();
      ports.api = auth.api?.port ?? 0;
      ports.rtmp = nmsPorts.rtmp;
      ports.http = nmsPorts.http;
      const endpoints = {
        rtmpPort: ports.rtmp,
        hlsRoot,
        keysRoot: keysDirOf(config),
        internalProcesses,
        ffmpegPath: s.ffmpegPath,
        ffprobePath: s.ffprobePath,
        modes,
        clock: deps.clock ?? systemClock,
      };
      channels = config.channels.map((c) => new ChannelRunner(c, endpoints, policy, log, redactor));
      for (const channel of channels) channel.start();
      log.info(
        {
          event: "server.started",
          pid: process.pid,
          rtmpPort: ports.rtmp,
          httpPort: ports.http,
          apiPort: ports.api,
          channels: channels.map((c) => `${c.config.app}/${c.config.id}`),
        },
        "server started",
      );
      // Every URL with the real ports, so that a new user need not work them out (none holds a credential).
      const urls = servingUrls(config, ports);
      log.info({ event: "server.serving", ...urls }, `serving ${urls.channels.length} channel(s)`);
    },
    async stop() {
      // Stop accepting, end every viewer as `shutdown` before its channel's publisher goes away (which
      // would end it as viewer-left), stop ffmpeg, then end any session a kept-alive HLS connection
      // opened meanwhile; detach writes the ledger's last rows.
      stopAcceptingNms(nms);
      const endAll = () => {
        for (const session of auth.sessions.list()) auth.sessions.close(session, "shutdown");
      };
      endAll();
      await Promise.all(channels.map((c) => c.stop()));
      endAll();
      await auth.detach();
      await nms.stop();
      log.info({ event: "server.stopped" }, "server stopped");
    },
    channelStatus() {
      return channels.map((c) => c.status());
    },
    reload(next) {
      const outcome = auth.reloadResolved(pluginConfigOf(next));
      const serverKeys = changedKeys(
        { server: config.server, channels: config.channels },
        { server: next.server, channels: next.channels },
      );
      if (serverKeys.length > 0) {
        log.warn(
          { event: "config.restart_needed", keys: serverKeys },
          `changed keys take effect after a restart: ${serverKeys.join(", ")}`,
        );
      }
      return { applied: outcome.applied, restartNeeded: [...outcome.restartNeeded, ...serverKeys] };
    },
  };
}

/**
 * The configured channels that are not on air, for the readiness probe: names and states only (it is
 * answered without a credential, and ffmpeg's error lines can name sources). A channel whose runner does
 * not exist yet (the API listens before the channels start) is `starting`.
 */
function channelsNotUp(
  config: ServerConfig,
  channels: readonly ChannelRunner[],
): { app: string; id: string; state: ChannelStatus["state"] }[] {
  return config.channels.flatMap((c) => {
    const state = channels.find((r) => r.config.app === c.app && r.config.id === c.id)?.status().state ?? "starting";
    return state === "up" ? [] : [{ app: c.app, id: c.id, state }];
  });
}

/** The credentials in a channel's source URL (the other source types have none). */
function sourceCredentials(channel: ServerConfig["channels"][number]): string[] {
  const source = channel.source;
  return source.type === "url" || source.type === "rtmp" ? Redactor.credentialsIn(source.url) : [];
}

/** Where encrypted channels' keys go: `hls.keysDir`, or `<dataDir>/hls-keys` (beside, never inside, the HLS folder). */
export function keysDirOf(config: ServerConfig): string {
  return resolve(config.hls.keysDir ?? join(config.server.dataDir, "hls-keys"));
}

/** Where the channels' HLS goes: `hls.dir`, or `<dataDir>/hls`. */
function hlsRootOf(config: ServerConfig): string {
  return resolve(config.hls.dir ?? join(config.server.dataDir, "hls"));
}

/**
 * The plugin's configuration in the bundled server: HLS and statistics live in the data directory unless
 * set. Only the server's own ingest publishes (each channel's, let in by its pid): no address and no
 * publish link opens publishing, whatever the `publish` section says. (NMS's own publish sign used to
 * lock everyone else out; it needed a secret on the ingest's command line, this needs none.)
 */
export function pluginConfigOf(config: ServerConfig): PluginConfig {
  const dataDir = resolve(config.server.dataDir);
  // `api.token` stays as configured: buildServer reads `api.tokenFile` (apiTokenAtBuild), a reload re-reads it.
  return {
    ...pluginPartOf(config),
    publish: { ...config.publish, allowIps: [], securetoken: { ...config.publish.securetoken, secrets: [] } },
    hls: { ...config.hls, dir: config.hls.dir ?? join(dataDir, "hls"), keysDir: keysDirOf(config) },
    stats: { ...config.stats, file: config.stats.file ?? join(dataDir, "stats.sqlite") },
  };
}

/** The plugin's sections of the server configuration (everything but `server` and `channels`). */
function pluginPartOf(config: ServerConfig): PluginConfig {
  const keys = Object.keys(pluginConfigShape) as (keyof PluginConfig)[];
  return Object.fromEntries(keys.map((k) => [k, config[k]])) as unknown as PluginConfig;
}

/**
 * Says once, at build, that a `publish` section which opens publishing is not used here: an operator who
 * wrote `allowIps` or publish secrets expects them to work, and the bundled server publishes only its own
 * channels (pluginConfigOf).
 */
function warnIfPublishConfigured(config: ServerConfig, log: Logger): void {
  const allowIps = config.publish.allowIps.map((range) => range.text);
  const defaultAllowIps = DEFAULT_PUBLISH_ALLOW_IPS.map((text) => text.replace(/\/\d+$/, ""));
  const opensMore =
    allowIps.some((text) => !defaultAllowIps.includes(text.replace(/\/\d+$/, ""))) || config.publish.securetoken.secrets.length > 0;
  if (opensMore) {
    log.warn(
      { event: "server.publish_ignored" },
      "the bundled server lets only its own ingest publish: publish.allowIps and publish.securetoken are not used",
    );
  }
}
