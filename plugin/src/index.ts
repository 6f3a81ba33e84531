import type NodeMediaServer from "node-media-server";
import type { Server as HttpServer } from "node:http";
import { resolve, sep } from "node:path";
import type { Dispatcher } from "undici";
import Context from "node-media-server/src/core/context.js";
import nmsLogger from "node-media-server/src/core/logger.js";
import type { AuthChain } from "./chain/auth-chain.js";
import type { Authorizer } from "./core/authorizer.js";
import { buildChain } from "./chain/build-chain.js";
import { systemClock, type Clock } from "./core/clock.js";
import { parseConfig } from "./config/parse-config.js";
import { pluginConfigSchema, type PluginConfig, type PluginConfigInput } from "./config/plugin-config-schema.js";
import { AlreadyAttachedError, ConfigError, NmsIncompatibleError } from "./core/errors.js";
import { PlayGate } from "./hosts/nms4/play-gate.js";
import { NmsInputShield } from "./hosts/nms4/nms-input-shield.js";
import { createLogger, type Logger } from "./core/log.js";
import { Redactor } from "./core/redactor.js";
import { configSecrets } from "./config/config-secrets.js";
import { AddressRules } from "./net/address-rules.js";
import { applyConfigReload, type ConfigReloadOutcome } from "./config-reload.js";
import { MemorySessionStore } from "./sessions/memory-session-store.js";
import { SessionLimiter } from "./sessions/session-limiter.js";
import { SessionRechecker } from "./sessions/session-rechecker.js";
import type { GateContext } from "./gate/gate-context.js";
import { HlsGate } from "./hls/hls-gate.js";
import { HlsSessionKeys } from "./hls/hls-session-keys.js";
import { ManagementApi, type ApiProviders } from "./api/management-api.js";
import { StatsLedger } from "./stats/stats-ledger.js";
import { PluginMetrics } from "./metrics/plugin-metrics.js";
import { UserStore } from "./users/user-store.js";
import { UserEditor } from "./users/user-editor.js";

export type { AuthRequest, Protocol } from "./core/auth-request.js";
export type { Authorizer } from "./core/authorizer.js";
export type { Decision, StepVerdict, StepName } from "./core/decision.js";
export { allow, deny, PASS } from "./core/decision.js";
export type { PluginConfig, PluginConfigInput } from "./config/plugin-config-schema.js";
export { pluginConfigSchema } from "./config/plugin-config-schema.js";
export { loadConfigFile, parseConfig } from "./config/parse-config.js";
export { AlreadyAttachedError, BackendResponseError, BackendTimeoutError, BackendUnreachableError, ConfigError, NmsIncompatibleError, SignedLinkError, VaError } from "./core/errors.js";
export type { BackendConfig } from "./config/backend-schema.js";
export type { MemorySessionStore } from "./sessions/memory-session-store.js";
export type { ConfigReloadOutcome } from "./config-reload.js";
export type { ViewerSession, SessionSnapshot } from "./core/viewer-session.js";
export type { UserStore, UsersReloadResult } from "./users/user-store.js";
export { hashPassword } from "./users/password-hash.js";
export { makeSecureLink, type SecureLinkOptions } from "./securetoken/make-secure-link.js";

/** The edges the plugin talks to, each with a production default; tests pass their own. */
export interface ViewerAuthDeps {
  /** Time source for expiries and session times. Default: the system clock. */
  clock?: Clock;
  /**
   * Structured logger. Default: JSON lines on stdout at `config.log.level`, with the configuration's
   * secrets and URL credentials removed from every line (see `createLogger`).
   */
  logger?: Logger;
  /** Extra authorizers, run after securetoken and before the backend (step name `custom`). */
  authorizers?: readonly Authorizer[];
  /**
   * Secret the bundled server's own ffmpeg processes present as `?va_internal=` from loopback.
   * Leave unset in an operator's app unless it runs its own local transcoders.
   */
  internalSecret?: string;
  /** What the management API reports beyond sessions (the bundled server's channel states). */
  apiProviders?: ApiProviders;
  /**
   * Dispatcher for calls to `auth.backend` (an undici Agent, ProxyAgent…), replacing the built-in
   * keep-alive pool of `auth.backend.connections`. The caller owns and closes it.
   */
  backendDispatcher?: Dispatcher;
}

/** What `attachViewerAuth` returns: the running parts, and `detach` to undo it all. */
export interface ViewerAuthHandle {
  /** The configuration in force (the latest one `reload` accepted). */
  readonly config: PluginConfig;
  readonly chain: AuthChain;
  readonly sessions: MemorySessionStore;
  readonly log: Logger;
  /** The management API when `api.enabled`; `ready` resolves once it listens. */
  readonly api: ManagementApi | undefined;
  /** The statistics ledger when `stats.file` is set. */
  readonly ledger: StatsLedger | undefined;
  readonly metrics: PluginMetrics;
  /** Resolves when everything the plugin listens on is listening. */
  readonly ready: Promise<void>;
  /** Built-in users, when configured: `users.reload()` re-reads `auth.usersFile` now (SIGHUP does the same). */
  readonly users: UserStore | undefined;
  /**
   * Validates a changed configuration and puts its reloadable keys in force without a restart: the
   * deny and allow lists, trusted proxies, default action and log levels (playing sessions now on the
   * deny list are cut at once). Other changed keys are returned as `restartNeeded`. An invalid
   * configuration throws a ConfigError with every issue and changes nothing.
   */
  reload(config: PluginConfigInput): ConfigReloadOutcome;
  /** `reload` for a configuration that was already validated (the bundled server's). */
  reloadResolved(config: PluginConfig): ConfigReloadOutcome;
  /** Restores NMS's own play path and closes what the plugin opened. Safe to call twice. */
  detach(): Promise<void>;
}

const ATTACHED = Symbol.for("nms-viewer-auth.attached");

/**
 * Attaches viewer authorization to a node-media-server 4.4.3 instance: from then on every play
 * (RTMP, HTTP-FLV, WS-FLV) waits for the authorization chain before a single media byte is sent.
 * Call it once, before `nms.run()`. The configuration is validated first; every problem is thrown at
 * once as a ConfigError.
 *
 * @example
 * const nms = new NodeMediaServer({ rtmp: { port: 1935 }, http: { port: 8000 } });
 * const auth = attachViewerAuth(nms, { auth: { allowIps: ["10.0.0.0/8"] } });
 * nms.run();
 * // later: await auth.detach();
 */
export function attachViewerAuth(nms: NodeMediaServer, config: PluginConfigInput = {}, deps: ViewerAuthDeps = {}): ViewerAuthHandle {
  return attachResolvedViewerAuth(nms, parseConfig(pluginConfigSchema, config) as PluginConfig, deps);
}

/** `attachViewerAuth` for a configuration that was already validated (the bundled server's). */
export function attachResolvedViewerAuth(nms: NodeMediaServer, resolved: PluginConfig, deps: ViewerAuthDeps = {}): ViewerAuthHandle {
  const marker = Context as unknown as Record<symbol, boolean>;
  if (marker[ATTACHED]) throw new AlreadyAttachedError();

  const log = deps.logger ?? createLogger(resolved.log.level, undefined, new Redactor([...configSecrets(resolved), ...(deps.internalSecret !== undefined ? [deps.internalSecret] : [])]));
  nmsLogger.level = resolved.log.nmsLevel; // NMS's constructor forces "debug"
  const clock = deps.clock ?? systemClock;
  const sessions = new MemorySessionStore(clock, log);
  const users = UserStore.open(resolved.auth, log);
  const addressRules = new AddressRules(resolved.auth);
  let securetoken = resolved.auth.securetoken;
  const chain = buildChain(resolved, {
    internalSecret: deps.internalSecret, customAuthorizers: deps.authorizers, sessions, clock, users, addressRules,
    securetoken: () => securetoken, backendDispatcher: deps.backendDispatcher,
  }, log);
  const ctx: GateContext = {
    chain,
    registry: sessions,
    limiter: new SessionLimiter(sessions, resolved.sessions.limitPolicy, resolved.sessions),
    rechecker: new SessionRechecker(chain, sessions, resolved.sessions.recheckIntervalSec, log),
    addressRules,
    log,
  };
  const gate = new PlayGate(ctx);
  const shield = new NmsInputShield(log);
  let hlsServer: HttpServer | undefined;
  try {
    hlsServer = hlsServerOf(nms, resolved);
    shield.attach(nms); // first: malformed input is refused before the gates (and NMS) see it
    gate.attach();
  } catch (error) {
    shield.detach();
    void chain.close(); // release what steps opened (the users file watcher and SIGHUP listener)
    throw error;
  }
  const hlsGate = hlsServer === undefined ? undefined : attachHlsGate(hlsServer, resolved, ctx, clock);
  const ledger = resolved.stats.file === null ? undefined : new StatsLedger(resolved.stats.file, resolved.stats.flushIntervalMs, sessions, clock, log, resolved.stats);
  const metrics = new PluginMetrics(chain, sessions, log, chain.step("backend"), ledger);
  const api = resolved.api.enabled
    ? new ManagementApi(
      { bind: resolved.api.bind, port: resolved.api.port, token: resolved.api.token!, previousTokens: resolved.api.previousTokens },
      sessions,
      { ledger, metrics, rechecker: ctx.rechecker, users: users === undefined ? undefined : new UserEditor(users, log) },
      deps.apiProviders ?? {},
      clock,
      log,
    )
    : undefined;
  const ready = api === undefined ? Promise.resolve() : api.listen().then(() => undefined);
  marker[ATTACHED] = true;
  log.info({ event: "plugin.attached", steps: chain.stepNames, defaultAction: resolved.auth.defaultAction }, "viewer authorization attached");

  let detached = false;
  let current = resolved;
  const reloadTargets = {
    addressRules, chain, registry: sessions, rechecker: ctx.rechecker, limiter: ctx.limiter, hlsKeys: hlsGate?.keys, log, nmsLogger,
    setSecuretoken: (settings: PluginConfig["auth"]["securetoken"]) => (securetoken = settings),
  };
  const reloadResolved = (next: PluginConfig): ConfigReloadOutcome => {
    const { inForce, ...outcome } = applyConfigReload(current, next, reloadTargets);
    current = inForce;
    return outcome;
  };
  return {
    get config() {
      return current;
    },
    reload: (config) => reloadResolved(parseConfig(pluginConfigSchema, config) as PluginConfig),
    reloadResolved,
    chain,
    sessions,
    log,
    api,
    ledger,
    metrics,
    ready,
    users,
    async detach() {
      if (detached) return;
      detached = true;
      gate.detach();
      hlsGate?.detach();
      shield.detach(); // after the HLS gate, whose front wraps the shield's
      await api?.close();
      metrics.close();
      ledger?.close();
      ctx.rechecker.close();
      marker[ATTACHED] = false;
      await chain.close();
      log.info({ event: "plugin.detached" }, "viewer authorization detached");
    },
  };
}

/**
 * The HTTP server the HLS gate will sit on, or undefined without `hls.dir`. Checked before anything
 * attaches: NMS must have an HTTP server, and the HLS directory must be out of reach of NMS's own
 * static file route, or viewers could fetch segments around the gate.
 */
function hlsServerOf(nms: NodeMediaServer, config: PluginConfig): HttpServer | undefined {
  if (config.hls.dir === null) return undefined;
  const server = nms.httpServer.httpServer;
  if (server === undefined) throw new NmsIncompatibleError("hls.dir is set but NMS has no HTTP server (set http.port)");
  const staticRoot = Context.config.static?.router !== undefined ? Context.config.static.root : undefined;
  if (staticRoot !== undefined && overlaps(resolve(staticRoot), resolve(config.hls.dir))) {
    throw new ConfigError([{
      path: "hls.dir",
      message: `overlaps NMS's static root ${JSON.stringify(staticRoot)}: NMS would serve the segments without the gate; keep HLS output outside every static root`,
      value: config.hls.dir,
    }]);
  }
  return server;
}

/** True when one folder is the other or inside it. */
function overlaps(a: string, b: string): boolean {
  return a === b || a.startsWith(b + sep) || b.startsWith(a + sep);
}

/** Puts the HLS gate in front of NMS's HTTP listener. */
function attachHlsGate(server: HttpServer, config: PluginConfig, ctx: GateContext, clock: Clock): HlsGate {
  const keys = new HlsSessionKeys(ctx.registry, clock, config.hls.sessionIdleSec, config.hls.ipBinding, ctx.log);
  const hls = new HlsGate(ctx, keys, config.hls.dir!, { hideUnknownChannels: config.hls.hideUnknownChannels });
  hls.attach(server);
  return hls;
}
