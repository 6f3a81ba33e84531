import { randomUUID } from "node:crypto";
import { dirname, join } from "node:path";
import type { BackendDispatcher } from "./backend/backend-transport.js";
import type { AuthChain } from "./chain/auth-chain.js";
import type { Authorizer } from "./core/authorizer.js";
import { buildChain } from "./build-chain.js";
import { systemClock, type Clock } from "./core/clock.js";
import { parseConfig } from "./config/parse-config.js";
import { pluginConfigSchema, type PluginConfig, type PluginConfigInput } from "./plugin-config-schema.js";
import { createLogger, type Logger } from "./core/log.js";
import { Redactor } from "./core/redactor.js";
import { configSecrets } from "./config-secrets.js";
import { AddressRules } from "./net/address-rules.js";
import type { LocalProcesses } from "./net/process-proof.js";
import { applyConfigReload, type ConfigReloadOutcome } from "./config-reload.js";
import type { SessionStore } from "./core/session-store.js";
import { MemorySessionStore } from "./sessions/memory-session-store.js";
import { SessionLimiter } from "./sessions/session-limiter.js";
import { SessionRechecker } from "./sessions/session-rechecker.js";
import { SessionExpiry } from "./sessions/session-expiry.js";
import { MemoryLinkUses } from "./securetoken/link-uses.js";
import { RevocationList } from "./sessions/revocation-list.js";
import type { EdgeCommandTargets } from "./sessions/edge-commands.js";
import { EdgeCluster } from "./cluster/edge-cluster.js";
import type { GateContext } from "./gate/gate-context.js";
import { HlsGate } from "./hls/hls-gate.js";
import { HlsSessionKeys } from "./hls/hls-session-keys.js";
import { EdgeLinks } from "./hls/edge-links.js";
import type { HostAdapter, HttpFrontHandler } from "./hosts/host-adapter.js";
import { ManagementApi, type ApiProviders } from "./management-api.js";
import { apiTokenAtBuild, withApiTokenFromFile } from "./api-token-file.js";
import { StatsLedger } from "./stats/stats-ledger.js";
import { LedgerLinkUses } from "./stats/ledger-link-uses.js";
import { AuditTrail } from "./stats/audit-trail.js";
import { PluginMetrics, type ChannelHealth } from "./metrics/plugin-metrics.js";
import { UserStore } from "./users/user-store.js";
import { UserEditor } from "./users/user-editor.js";
import { PublishPolicy } from "./publish/publish-policy.js";
import { auditedPublishPolicy } from "./publish/publish-audit.js";
import { warnTrustedProxyMayPublish } from "./publish/trusted-proxy-risk.js";
import { guarded } from "./core/guarded.js";
import { DecisionLog } from "./console/decision-log.js";
import { ViewerHistory } from "./console/viewer-history.js";
import { OverviewCounters } from "./console/overview-counters.js";
import { Explainer } from "./explain/explainer.js";
import type { ExplainInput } from "./explain/explain-target.js";
import type { ExplainAnswer } from "./explain/explainer.js";
import { WebhookEvents } from "./events/webhook-events.js";
import { ConfigError } from "./core/errors.js";
import type { PublishedStreamInfo, PublishWatcher } from "./hosts/host-adapter.js";

/** The edges the plugin talks to, each with a production default; tests pass their own. */
export interface ViewerAuthDeps {
  /** Time source for expiries and session times. Default: the system clock. */
  clock?: Clock;
  /**
   * The session store every part shares (gates, limits, re-checks, statistics, API, cluster). Default:
   * a new in-memory store (`MemorySessionStore`) on `clock`. An embedder's store must implement the whole
   * `SessionStore` contract (core/session-store.ts), its events included: statistics and metrics
   * follow `ended`, the cluster mirror `playing`. Its lifetime is the caller's (detach does not clear it).
   */
  sessionStore?: SessionStore;
  /**
   * Structured logger. Default: JSON lines on stdout at `config.log.level`, with the configuration's
   * secrets and URL credentials removed from every line (see `createLogger`).
   */
  logger?: Logger;
  /** Extra authorizers, run after securetoken and before the backend (step name `custom`). */
  authorizers?: readonly Authorizer[];
  /**
   * The server's own processes (the bundled server's ffmpeg ingest and packager children, by pid), let in
   * without a credential on a proof from the kernel: a loopback RTMP play (the `internal` step) or
   * publish (whatever `publish.allowIps` says) whose client end one of them holds
   * (`LocalProcesses.holdsClientEnd`, read from /proc/net/tcp{,6} and /proc/<pid>/fd). No secret is
   * involved, so none appears in a child's command line. The caller adds a child's pid when it spawns
   * it and deletes it when it exits. Linux only: elsewhere nothing is proven and those processes are
   * treated like any other client (fail closed). Such a play is not a viewer session (no API row, no
   * statistics, outside every viewer limit): it is the server's own packager; such a publish is logged
   * and counted as a `publish.decision` with reason `internal`. Leave unset in an operator's app unless
   * it runs its own local transcoders.
   */
  internalProcesses?: LocalProcesses;
  /** What the management API reports beyond sessions (the bundled server's channel states). */
  apiProviders?: ApiProviders;
  /** The channels of a server that runs its own sources, for `va_channel_up` and `va_channel_restarts_total`. */
  channelHealth?: () => readonly ChannelHealth[];
  /**
   * Dispatcher for calls to `auth.backend` (an undici Agent, ProxyAgent…), replacing the built-in
   * keep-alive pool of `auth.backend.connections`. The caller owns and closes it.
   */
  backendDispatcher?: BackendDispatcher;
  /** In [0, 1): the jitter of webhook retries. Default: Math.random. */
  random?: () => number;
}

/** The running parts of viewer authorization, whatever host they are attached to. */
export interface ViewerAuthParts {
  /** The configuration in force (the latest one `reload` accepted). */
  readonly config: PluginConfig;
  readonly chain: AuthChain;
  readonly sessions: SessionStore;
  readonly log: Logger;
  /** The management API when `api.enabled` (listening once started). */
  readonly api: ManagementApi | undefined;
  /** The statistics ledger when `stats.file` is set. */
  readonly ledger: StatsLedger | undefined;
  readonly metrics: PluginMetrics;
  /** Built-in users, when configured: `users.reload()` re-reads `auth.usersFile` now (SIGHUP does the same). */
  readonly users: UserStore | undefined;
  /** The webhooks when `events.webhooks` is not empty (their outbox open once started). */
  readonly webhooks: WebhookEvents | undefined;
  /** Revoked tokens, users and addresses in force (refused on every new check until they lapse or are lifted). */
  readonly revocations: RevocationList;
  /** The link to the other edges when `cluster` is configured (connected once started). */
  readonly cluster: EdgeCluster | undefined;
  /**
   * What would happen to a URL opened from an address, changing nothing (`POST /api/explain`, the
   * `explain` command; docs/explain.md). Works on a built, unstarted instance: it opens nothing but the
   * backend call it makes unless `cacheOnly`. Throws an error with a `code` for a URL or address that is no play.
   */
  explain(input: ExplainInput): Promise<ExplainAnswer>;
  /**
   * Validates a changed configuration and puts its reloadable keys in force without a restart: the
   * deny and allow lists, trusted proxies, default action and log levels (playing sessions now on the
   * deny list are cut at once). Other changed keys are returned as `restartNeeded`. An invalid
   * configuration throws a ConfigError with every issue and changes nothing.
   */
  reload(config: PluginConfigInput): ConfigReloadOutcome;
  /** `reload` for a configuration that was already validated (the bundled server's). */
  reloadResolved(config: PluginConfig): ConfigReloadOutcome;
  /**
   * Detaches from the host (its own play path back) and closes everything `start` opened (ledger,
   * watchers, signal listener, timers, Redis, API), started or not. Safe to call twice.
   */
  detach(): Promise<void>;
}

/** Viewer authorization built but not yet attached or listening: `attach` it to a host, then `start` it. */
export interface ViewerAuth extends ViewerAuthParts {
  /**
   * The HLS gate's request handler (`hls.dir` set, or after attaching to a host that writes HLS itself), for a host adapter or a plain `node:http` server:
   * it answers HLS requests and calls `next` for every other one.
   */
  readonly httpHandler: HttpFrontHandler | undefined;
  /** The HLS gate's live session keys (`hls.dir` set). */
  readonly hlsKeys: HlsSessionKeys | undefined;
  /**
   * Puts the gates on a host: the host is probed, then every play it serves and (with `hls.dir`) its
   * HTTP requests go through the chain. Throws, with the host left as it was, when the host is not
   * as expected, already gated, or would serve the HLS directory around the gate. Once only.
   */
  attach(host: HostAdapter): void;
  /**
   * Opens everything building left closed, in this order: the API token file (created when missing), the
   * statistics ledger, the users file watcher and its SIGHUP listener, the timers (verdict cache purge,
   * HLS key sweep, viewer history), the link to the other edges, then the management API; resolves once
   * the API listens. Once. A file that cannot be written or opened throws at once (not in the promise);
   * what opened before a failure stays open until `detach`.
   */
  start(): Promise<void>;
}

/**
 * Builds every part of viewer authorization from a validated configuration — session store, chain,
 * limits and re-checks, HLS gate, statistics, metrics, management API — and wires them, nothing more:
 * when it returns no timer, watcher, signal listener, socket or open file exists, and nothing was written
 * (files are only read: the users file, an existing API token file). `attach` puts the gates on a host,
 * `start` opens the rest, `detach` closes it. The composition root: the one wiring behind
 * `attachViewerAuth`, the bundled server and the benches.
 */
export function buildViewerAuth(config: PluginConfig, deps: ViewerAuthDeps = {}): ViewerAuth {
  // The token of `api.tokenFile` is a configured secret like `api.token`: the redactor gets it too.
  const tokenAtBuild = apiTokenAtBuild(config);
  const resolved = tokenAtBuild.config;
  const log = deps.logger ?? createLogger(resolved.log.level, undefined, new Redactor(configSecrets(resolved)), resolved.log.format);
  const clock = deps.clock ?? systemClock;
  const sessions: SessionStore = deps.sessionStore ?? new MemorySessionStore(clock, log);
  const users = UserStore.load(resolved.auth, log);
  const addressRules = new AddressRules(resolved.auth);
  let securetoken = resolved.auth.securetoken;
  // Revocations come from the management API or, with a cluster, from any edge: the `revoked` step reads them.
  const revocations = new RevocationList(clock);
  const chain = buildChain(
    resolved,
    {
      internalProcesses: deps.internalProcesses,
      revocations,
      customAuthorizers: deps.authorizers,
      sessions,
      clock,
      users,
      addressRules,
      securetoken: () => securetoken,
      backendDispatcher: deps.backendDispatcher,
    },
    log,
  );
  const commandTargets: EdgeCommandTargets = { registry: sessions, revocations, forgetVerdicts: () => chain.step("backend")?.forget?.() };
  let ledger: StatsLedger | undefined;
  // No cluster section: no EdgeCluster, and the Redis client is never imported (redis-link.ts loads it lazily).
  const cluster =
    resolved.cluster === null
      ? undefined
      : new EdgeCluster(resolved.cluster, {
          registry: sessions,
          commandTargets,
          clock,
          log,
          statsTotals: () =>
            ledger === undefined
              ? undefined
              : { channels: ledger.usage("channel", 0, clock.now() + 1), at: new Date(clock.now()).toISOString() },
        });
  const expiry = new SessionExpiry(sessions, clock, log);
  const ledgerLinkUses =
    resolved.stats.file === null || cluster !== undefined ? undefined : new LedgerLinkUses(clock, log, new MemoryLinkUses(clock));
  const ctx: GateContext = {
    chain,
    registry: sessions,
    limiter: new SessionLimiter(sessions, resolved.sessions.limitPolicy, resolved.sessions, cluster),
    rechecker: new SessionRechecker(chain, sessions, resolved.sessions.recheckIntervalSec, log, expiry),
    expiry,
    // With a cluster, Redis counts a link's uses for every edge; alone, the statistics database when
    // there is one (a restart keeps the counts), else this process.
    linkUses: cluster?.linkUses ?? ledgerLinkUses ?? new MemoryLinkUses(clock),
    addressRules,
    revocations,
    log,
  };
  const explainer = new Explainer({
    chain,
    registry: sessions,
    limiter: ctx.limiter,
    addressRules,
    hlsKeys: () => hlsGate?.keys,
    users,
    clustered: cluster !== undefined,
    log,
  });
  const hlsGateFor = (dir: string) =>
    new HlsGate(ctx, new HlsSessionKeys(sessions, clock, resolved.hls.sessionIdleSec, resolved.hls.ipBinding, log), dir, {
      hideUnknownChannels: resolved.hls.hideUnknownChannels,
      segmentCacheBytes: resolved.hls.segmentCacheBytes,
      maxUnplayedPerViewer: resolved.hls.maxUnplayedPerViewer,
      keysDir: resolved.hls.keysDir ?? undefined,
      clock,
      edge: resolved.hls.edge === null ? undefined : new EdgeLinks(resolved.hls.edge, clock),
    });
  // Built at once for `hls.dir`; else at attach, for the folder the host serves itself (`hostHlsDir`).
  let hlsGate = resolved.hls.dir === null ? undefined : hlsGateFor(resolved.hls.dir);
  ledger =
    resolved.stats.file === null
      ? undefined
      : new StatsLedger(resolved.stats.file, resolved.stats.flushIntervalMs, sessions, clock, log, {
          ...resolved.stats,
          ...(ledgerLinkUses === undefined ? {} : { linkUses: ledgerLinkUses }),
        });
  const webhooks =
    resolved.events.webhooks.length === 0
      ? undefined
      : new WebhookEvents({ ...resolved.events, node: resolved.events.node ?? resolved.cluster?.nodeId ?? null }, outboxFileOf(resolved), {
          sessions,
          clock,
          log,
          random: deps.random,
        });
  let hostVersion: string | undefined;
  const metrics = new PluginMetrics(chain, sessions, log, chain.step("backend"), ledger, cluster, {
    channels: deps.channelHealth,
    hostVersion: () => hostVersion,
    webhooks,
  });
  const decidePublish = auditedPublishPolicy(
    new PublishPolicy(resolved.publish, clock, deps.internalProcesses),
    log,
    guarded(log, "metrics.listener_failed", (decision) => metrics.countPublish(decision)),
  );
  warnTrustedProxyMayPublish(resolved, log);
  let current = resolved;
  // What the console shows beyond the API's own data: recent decisions and an hour of viewer counts.
  const consoleData = resolved.api.enabled
    ? {
        decisions: new DecisionLog(chain, clock, undefined, sessions),
        // The long history (a day, a week) is kept in the statistics database when there is one, so it survives a restart.
        history: new ViewerHistory(sessions, clock, undefined, () => ledger, log),
        overview: new OverviewCounters(chain, sessions, clock, chain.step("backend")),
        channelHealth: deps.channelHealth,
        audit: new AuditTrail(clock, log, { retentionDays: resolved.api.auditRetentionDays, ledger }),
      }
    : undefined;
  const api =
    consoleData !== undefined
      ? new ManagementApi(
          {
            bind: resolved.api.bind,
            port: resolved.api.port,
            token: resolved.api.token!,
            previousTokens: resolved.api.previousTokens,
            metricsToken: resolved.api.metricsToken ?? undefined,
            credentials: resolved.api.credentials,
            trustedProxies: () => addressRules.trustedProxies,
          },
          sessions,
          {
            ledger,
            webhooks,
            metrics,
            rechecker: ctx.rechecker,
            users: users === undefined ? undefined : new UserEditor(users, log),
            revocation: { targets: commandTargets, cluster, revokedForSec: () => current.sessions.revokedForSec, clock, log },
            ...consoleData,
            securetoken: () => securetoken,
            explainer,
            audit: consoleData.audit,
          },
          deps.apiProviders ?? {},
          clock,
          log,
        )
      : undefined;

  let host: HostAdapter | undefined;
  let started = false;
  let closed = false;
  const reloadTargets = {
    addressRules,
    chain,
    registry: sessions,
    rechecker: ctx.rechecker,
    limiter: ctx.limiter,
    log,
    get hlsKeys() {
      return hlsGate?.keys;
    },
    setHostLogLevel: (level: string) => host?.setLogLevel(level),
    setSecuretoken: (settings: PluginConfig["auth"]["securetoken"]) => (securetoken = settings),
  };
  const reloadResolved = (next: PluginConfig): ConfigReloadOutcome => {
    const { inForce, ...outcome } = applyConfigReload(current, withApiTokenFromFile(next), reloadTargets);
    current = inForce;
    // A reload (SIGHUP on the bundled server) also re-reads the files steps hold, as it does the users file.
    chain.reloadFiles();
    warnTrustedProxyMayPublish(inForce, log);
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
    webhooks,
    metrics,
    users,
    revocations,
    cluster,
    explain: (input) => explainer.explain(input),
    get httpHandler() {
      return hlsGate?.handle;
    },
    get hlsKeys() {
      return hlsGate?.keys;
    },
    attach(target) {
      if (host !== undefined || closed) throw new Error("viewer authorization is attached once, before detach");
      hostVersion = target.probe().version;
      target.setLogLevel(current.log.nmsLevel);
      const hlsDir = current.hls.dir ?? target.hostHlsDir?.() ?? null;
      if (hlsGate === undefined && hlsDir !== null) {
        hlsGate = hlsGateFor(hlsDir);
        if (started) hlsGate.keys.start();
      }
      try {
        target.attachPlayGate(ctx);
        if (hlsGate !== undefined) target.attachHttp(hlsGate.handle, { privateDir: hlsDir! });
        target.onPublish((start) => {
          const decision = decidePublish(start);
          return decision.allow ? { allow: true } : { allow: false, reason: decision.detail };
        });
        if (webhooks !== undefined) target.watchPublishes?.(publishWatcherFor(webhooks));
      } catch (error) {
        target.detach();
        throw error;
      }
      host = target;
      log.info(
        { event: "plugin.attached", steps: chain.stepNames, defaultAction: current.auth.defaultAction },
        "viewer authorization attached",
      );
    },
    start() {
      // Not async: what opens synchronously (token file, ledger, watcher) throws to the caller at once,
      // as a configuration problem did when the ledger opened at build (attachViewerAuth throws it).
      if (started || closed) throw new Error("viewer authorization is started once, before detach");
      started = true;
      tokenAtBuild.writeFile?.();
      ledger?.start();
      webhooks?.start();
      users?.start();
      const stepsStarted = chain.start();
      expiry.start();
      hlsGate?.keys.start();
      consoleData?.history.start();
      consoleData?.audit.start();
      consoleData?.overview.start();
      return (async () => {
        await stepsStarted;
        await cluster?.start();
        await api?.listen();
      })();
    },
    async detach() {
      if (closed) return;
      closed = true;
      host?.detach();
      hlsGate?.close();
      metrics.close();
      consoleData?.decisions.close();
      consoleData?.history.close();
      consoleData?.audit.close();
      consoleData?.overview.close();
      ledger?.close();
      users?.close();
      ctx.rechecker.close();
      expiry.close();
      // Started before the first await: every timer and watcher is released by the time a refused
      // attach throws.
      const chainClosed = chain.close();
      await webhooks?.close();
      await api?.close();
      await cluster?.close();
      await chainClosed;
      if (host !== undefined) log.info({ event: "plugin.detached" }, "viewer authorization detached");
    },
  };
}

/** Where the webhook outbox lives: `events.outbox.file`, else beside the statistics database. */
function outboxFileOf(config: PluginConfig): string {
  if (config.events.outbox.file !== null) return config.events.outbox.file;
  if (config.stats.file !== null) return join(dirname(config.stats.file), "webhook-outbox.sqlite");
  throw new ConfigError([
    {
      path: "events.outbox.file",
      message: "webhooks need a durable outbox: set events.outbox.file (or stats.file, beside which it goes by default)",
    },
  ]);
}

/** Publish starts and ends as webhook events, each publish with an id its start and end share. */
function publishWatcherFor(webhooks: WebhookEvents): PublishWatcher {
  const ids = new WeakMap<PublishedStreamInfo, string>();
  const streamOf = (info: PublishedStreamInfo) => {
    let publishId = ids.get(info);
    if (publishId === undefined) ids.set(info, (publishId = randomUUID()));
    return { publishId, app: info.app, name: info.channel, ip: info.ip, protocol: info.protocol };
  };
  return {
    started: (info) => webhooks.publishStarted(streamOf(info)),
    ended: (info) => webhooks.publishEnded(streamOf(info)),
  };
}
