import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { AuthChain } from "../chain/auth-chain.js";
import type { Authorizer } from "../core/authorizer.js";
import type { Decision } from "../core/decision.js";
import { guarded } from "../core/guarded.js";
import type { Logger } from "../core/log.js";
import type { SessionStore } from "../core/session-store.js";
import type { ViewerSession } from "../core/viewer-session.js";
import { DROP_REASONS, type StatsLedger } from "../stats/stats-ledger.js";
import type { WebhookEvents } from "../events/webhook-events.js";
import { WEBHOOK_DROP_REASONS } from "../events/webhook-outbox.js";
import { PUBLISH_ALLOW_REASONS, PUBLISH_DENY_REASONS, type PublishDecision } from "../publish/publish-decision.js";
import type { EdgeCluster } from "../cluster/edge-cluster.js";
import { packageVersion } from "../core/package-version.js";

/**
 * One metric as `toJson` lists it (prom-client's JSON shape, spelled here so that the package's
 * declarations do not name prom-client, which is bundled into the package rather than installed).
 */
export interface MetricJson {
  name: string;
  help: string;
  type: string;
  values: { value: number; labels: Record<string, string | number>; metricName?: string }[];
  aggregator?: string;
}
/**
 * One channel of a server that runs its own sources (the bundled server fills these; the plugin does not
 * know its channels): `channel` is `app/id`, `up` whether it is on air, `restarts` each supervised job's
 * restarts since start (`ingest`, `packager`), which only grow.
 */
export interface ChannelHealth {
  channel: string;
  up: boolean;
  restarts: Readonly<Record<string, number>>;
}

/** What the metrics read beyond the plugin's own parts. */
export interface MetricsSources {
  /** The channels of a server that runs its own sources: `va_channel_up`, `va_channel_restarts_total`. */
  channels?: () => readonly ChannelHealth[];
  /** The version of the node-media-server the plugin is attached to, once attached (`va_build_info{nms}`). */
  hostVersion?: () => string | undefined;
  /** The webhooks (`va_webhook_*`), when configured. */
  webhooks?: Pick<WebhookEvents, "counters"> | undefined;
}

/**
 * The process's own metrics (`process_*`, `nodejs_*`: memory, CPU, event-loop lag, GC), in a registry of
 * the plugin's made once per process: they describe the process, not one plugin, and prom-client's
 * collectors (an event-loop delay monitor, a GC observer) are never stopped, so one set per plugin would
 * pile up. Not prom-client's global registry, which the host application may fill with the same names.
 */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * PluginMetrics is the Prometheus view of the plugin (served at `/metrics` by the management API):
 * decisions by step and verdict, per-step latency, the backend's HTTP round trips by status or
 * failure, the backend verdict cache, live sessions by protocol and channel, ended sessions by reason,
 * bytes sent to viewers, publish decisions by verdict and reason, and, with a statistics ledger, its
 * failed writes, waiting and dropped rows; the build (`va_build_info`), a bundled server's channels, and
 * the process's own `process_*` and `nodejs_*` metrics. Names follow Prometheus's conventions: base units
 * named in the metric (`_seconds`, `_bytes`), every counter ending in `_total`.
 * Every metric name starts with `va_` ("viewer auth", the plugin's short prefix, as in `VA_ERR_` codes)
 * so that it does not collide with NMS's or the host application's metrics on one scrape page.
 * A registry of its own, so two plugins in one process never collide. Its listeners on the chain and the
 * sessions are guarded (`metrics.listener_failed`): a counter that throws must not fail a viewer's check.
 */
export class PluginMetrics {
  readonly #registry = new Registry();
  readonly #endedBytes = { total: 0 };
  readonly #detach: () => void;
  readonly #publishDecisions: Counter;

  constructor(
    chain: AuthChain,
    sessions: SessionStore,
    log: Logger,
    backend: Authorizer | undefined = undefined,
    ledger: StatsLedger | undefined = undefined,
    cluster: Pick<EdgeCluster, "status"> | undefined = undefined,
    sources: MetricsSources = {},
  ) {
    registerBuildInfo(this.#registry, sources.hostVersion);
    if (sources.channels !== undefined) registerChannelMetrics(this.#registry, sources.channels);
    const decisions = new Counter({
      name: "va_decisions_total",
      help: "Authorization decisions by deciding step and verdict",
      labelNames: ["step", "verdict"],
      registers: [this.#registry],
    });
    const ruleRefusals = new Counter({
      name: "va_rule_refusals_total",
      help: "Refusals of the rules that name theirs (JWT, origin lock, country and network), by step, reason and what decided (a country code, an ASN, or empty)",
      labelNames: ["step", "reason", "subject"],
      registers: [this.#registry],
    });
    const stepSeconds = new Histogram({
      name: "va_step_duration_seconds",
      help: "Time each chain step took (step=backend includes verdict cache hits)",
      labelNames: ["step"],
      buckets: [0.00001, 0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 3],
      registers: [this.#registry],
    });
    this.#publishDecisions = publishDecisionCounter(this.#registry);
    const ended = new Counter({
      name: "va_sessions_ended_total",
      help: "Sessions ended, by reason",
      labelNames: ["reason", "protocol"],
      registers: [this.#registry],
    });
    const unplayedRefused = new Counter({
      name: "va_hls_unplayed_refused_total",
      help: "HLS playlist requests refused (429) because their credential already held hls.maxUnplayedPerViewer sessions from that address that fetched no segment",
      registers: [this.#registry],
    });
    const endedBytes = this.#endedBytes;
    const reportedBytes = new Map<string, number>();
    const bytesSent = () => endedBytes.total + sessions.list().reduce((sum, s) => sum + s.transport.bytesOut(), 0);
    new Counter({
      name: "va_sent_bytes_total",
      help: "Bytes sent to viewers (live sessions included)",
      registers: [this.#registry],
      collect() {
        raiseTo(this, reportedBytes, "", bytesSent());
      },
    });
    const reportedBytesDeprecated = new Map<string, number>();
    new Counter({
      name: "va_bytes_out_total",
      help: "Deprecated, removed in the next release: the same as va_sent_bytes_total",
      registers: [this.#registry],
      collect() {
        raiseTo(this, reportedBytesDeprecated, "", bytesSent());
      },
    });
    new Gauge({
      name: "va_live_sessions",
      help: "Live viewer sessions by protocol and channel",
      labelNames: ["protocol", "channel"],
      registers: [this.#registry],
      collect() {
        this.reset();
        for (const s of sessions.list({ state: "playing" })) this.inc({ protocol: s.protocol, channel: `${s.app}/${s.channel}` });
      },
    });
    const reportedLookups = new Map<string, number>();
    new Counter({
      name: "va_backend_cache_lookups_total",
      help: "Backend verdict cache lookups, by result (hits, misses, coalesced)",
      labelNames: ["result"],
      registers: [this.#registry],
      collect() {
        for (const [result, value] of Object.entries(backend?.counters?.() ?? {})) raiseTo(this, reportedLookups, result, value);
      },
    });
    const reportedDisagreements = new Map<string, number>();
    new Counter({
      name: "va_shadow_disagreements_total",
      help: "Answers of auth.shadowBackend that differ from the real backend's, by kind (verdict, identity, limit)",
      labelNames: ["kind"],
      registers: [this.#registry],
      collect() {
        for (const [kind, value] of Object.entries(backend?.disagreements?.() ?? {}))
          raiseTo(this, reportedDisagreements, kind, value, "kind");
      },
    });
    const backendSeconds = new Histogram({
      name: "va_backend_request_duration_seconds",
      help: "Round trips to the middleware backend (cache hits excluded), by HTTP status or failure",
      labelNames: ["result"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.#registry],
    });
    if (ledger !== undefined) registerLedgerMetrics(this.#registry, ledger);
    if (cluster !== undefined) registerClusterMetrics(this.#registry, cluster);
    if (sources.webhooks !== undefined) registerWebhookMetrics(this.#registry, sources.webhooks);
    const stopCalls = backend?.onCall?.(
      guarded(log, "metrics.listener_failed", function observeBackendCall(call: { result: string; seconds: number }) {
        backendSeconds.observe({ result: call.result }, call.seconds);
      }),
    );
    const onDecision = guarded(log, "metrics.listener_failed", function countDecision(_: unknown, d: Decision) {
      decisions.inc({ step: d.step, verdict: d.verdict });
      // Codes are a closed list and subjects a country code or a configured ASN: the label set stays bounded.
      if (d.verdict === "deny" && d.code !== undefined) ruleRefusals.inc({ step: d.step, reason: d.code, subject: d.subject ?? "" });
    });
    const onStep = guarded(log, "metrics.listener_failed", function observeStep(step: string, seconds: number) {
      stepSeconds.observe({ step }, seconds);
    });
    const onEnded = guarded(log, "metrics.listener_failed", function countEnded(s: ViewerSession) {
      ended.inc({ reason: s.endReason ?? "viewer-left", protocol: s.protocol });
      if (s.refusal?.stage === "hls-unplayed") unplayedRefused.inc();
      endedBytes.total += s.finalBytesOut ?? 0;
    });
    chain.on("decision", onDecision);
    chain.on("step", onStep);
    const stopEnded = sessions.subscribe("ended", onEnded);
    this.#detach = () => {
      stopCalls?.();
      chain.off("decision", onDecision);
      chain.off("step", onStep);
      stopEnded();
    };
  }

  /** Counts one publish decision (`va_publish_decisions_total{verdict,reason}`). */
  countPublish(decision: PublishDecision): void {
    this.#publishDecisions.inc({ verdict: decision.allow ? "allow" : "deny", reason: decision.reason });
  }

  /** The exposition text and its content type: the plugin's metrics, then the process's. */
  async render(): Promise<{ contentType: string; body: string }> {
    const [own, process] = await Promise.all([this.#registry.metrics(), processMetrics().metrics()]);
    return { contentType: this.#registry.contentType, body: `${own}\n${process}` };
  }

  /** Every metric `/metrics` serves, as prom-client's JSON (names, types, values). */
  async toJson(): Promise<MetricJson[]> {
    const [own, process] = await Promise.all([this.#registry.getMetricsAsJSON(), processMetrics().getMetricsAsJSON()]);
    return [...own, ...process] as unknown as MetricJson[];
  }

  close(): void {
    this.#detach();
  }
}

/** Publish decisions by verdict and reason, every pair visible from the start (alerts can use rate() at once). */
function publishDecisionCounter(registry: Registry): Counter {
  const counter = new Counter({
    name: "va_publish_decisions_total",
    help: "Publish decisions by verdict and reason",
    labelNames: ["verdict", "reason"],
    registers: [registry],
  });
  for (const reason of PUBLISH_ALLOW_REASONS) counter.inc({ verdict: "allow", reason }, 0);
  for (const reason of PUBLISH_DENY_REASONS) counter.inc({ verdict: "deny", reason }, 0);
  return counter;
}

/** `va_build_info{version,node,nms} 1`: which release, Node.js and node-media-server this process runs. */
function registerBuildInfo(registry: Registry, hostVersion: (() => string | undefined) | undefined): void {
  const version = packageVersion();
  new Gauge({
    name: "va_build_info",
    help: "Always 1; the labels say which nms-viewer-auth, Node.js and node-media-server (empty until attached) run",
    labelNames: ["version", "node", "nms"],
    registers: [registry],
    collect() {
      this.reset();
      this.set({ version, node: process.versions.node, nms: hostVersion?.() ?? "" }, 1);
    },
  });
}

/** A bundled server's channels: on air or not, and their jobs' restarts. */
function registerChannelMetrics(registry: Registry, channels: () => readonly ChannelHealth[]): void {
  new Gauge({
    name: "va_channel_up",
    help: "1 while the channel is on air (its ingest and packager both run), else 0",
    labelNames: ["channel"],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of channels()) this.set({ channel: c.channel }, c.up ? 1 : 0);
    },
  });
  const reported = new Map<string, number>();
  new Counter({
    name: "va_channel_restarts_total",
    help: "Restarts of a channel's ffmpeg jobs (job: ingest or packager) since the server started",
    labelNames: ["channel", "job"],
    registers: [registry],
    collect() {
      for (const c of channels()) {
        for (const [job, restarts] of Object.entries(c.restarts)) {
          const key = `${c.channel}\u0000${job}`;
          const before = reported.get(key) ?? 0;
          // Every job visible from its first scrape (at 0), so alerts can use increase() at once.
          this.inc({ channel: c.channel, job }, Math.max(0, restarts - before));
          reported.set(key, Math.max(before, restarts));
        }
      }
    },
  });
}

/** The edge's link to Redis: up or not, and what onRedisDown did while it was not. */
function registerClusterMetrics(registry: Registry, cluster: Pick<EdgeCluster, "status">): void {
  new Gauge({
    name: "va_cluster_redis_up",
    help: "1 while this edge reaches Redis (limits, sessions and revocations shared by every edge); 0 while it counts limits alone or refuses (cluster.onRedisDown)",
    registers: [registry],
    collect() {
      this.set(cluster.status().redis === "up" ? 1 : 0);
    },
  });
  const reported = new Map<string, number>();
  new Counter({
    name: "va_cluster_redis_down_admissions_total",
    help: "New viewers answered without Redis, by what onRedisDown did (local: admitted on this edge's counts; refused)",
    labelNames: ["result"],
    registers: [registry],
    collect() {
      const status = cluster.status();
      raiseTo(this, reported, "local", status.localAdmissions);
      raiseTo(this, reported, "refused", status.refusedWhileDown);
    },
  });
}

/** The statistics ledger's health: failed writes, rows waiting for the database, rows dropped and purged. */
function registerLedgerMetrics(registry: Registry, ledger: StatsLedger): void {
  const reported = new Map<string, number>();
  new Counter({
    name: "va_stats_write_failures_total",
    help: "Statistics ledger writes (and purges) the database refused; the rows are retried at the next flush",
    registers: [registry],
    collect() {
      raiseTo(this, reported, "", ledger.counters().writeFailures);
    },
  });
  const reportedDrops = new Map<string, number>();
  new Counter({
    name: "va_stats_rows_dropped_total",
    help: "Closed sessions lost instead of written, by reason (overflow: more than stats.maxPendingRows waiting; rejected: the database refused the row; closed: unwritten at close)",
    labelNames: ["reason"],
    registers: [registry],
    collect() {
      const dropped = ledger.counters().rowsDropped;
      for (const reason of DROP_REASONS) {
        this.inc({ reason }, 0); // every reason visible from the start, so alerts can use rate() at once
        raiseTo(this, reportedDrops, reason, dropped[reason], "reason");
      }
    },
  });
  const reportedPurged = new Map<string, number>();
  new Counter({
    name: "va_stats_rows_purged_total",
    help: "Sessions removed from the ledger by retention (stats.deniedRetentionDays, stats.retentionDays)",
    registers: [registry],
    collect() {
      raiseTo(this, reportedPurged, "", ledger.counters().rowsPurged);
    },
  });
  new Gauge({
    name: "va_stats_pending_rows",
    help: "Closed sessions waiting in memory to be written to the ledger",
    registers: [registry],
    collect() {
      this.set(ledger.counters().pendingRows);
    },
  });
}

/** The webhooks' outbox and deliveries: pending per webhook, delivered and failed attempts, drops by reason. */
function registerWebhookMetrics(registry: Registry, webhooks: Pick<WebhookEvents, "counters">): void {
  new Gauge({
    name: "va_webhook_pending",
    help: "Webhook deliveries waiting in the outbox, by webhook",
    labelNames: ["webhook"],
    registers: [registry],
    collect() {
      for (const [webhook, count] of Object.entries(webhooks.counters().pending)) this.set({ webhook }, count);
    },
  });
  const reportedDelivered = new Map<string, number>();
  new Counter({
    name: "va_webhook_delivered_total",
    help: "Webhook deliveries the receiver answered with 2xx, by webhook",
    labelNames: ["webhook"],
    registers: [registry],
    collect() {
      for (const [webhook, count] of Object.entries(webhooks.counters().delivered)) {
        this.inc({ webhook }, 0);
        raiseTo(this, reportedDelivered, webhook, count, "webhook");
      }
    },
  });
  const reportedFailed = new Map<string, number>();
  new Counter({
    name: "va_webhook_failed_total",
    help: "Webhook delivery attempts that failed (refused, non-2xx, over timeoutMs) and will be retried, by webhook",
    labelNames: ["webhook"],
    registers: [registry],
    collect() {
      for (const [webhook, count] of Object.entries(webhooks.counters().failed)) {
        this.inc({ webhook }, 0);
        raiseTo(this, reportedFailed, webhook, count, "webhook");
      }
    },
  });
  const reportedDropped = new Map<string, number>();
  new Counter({
    name: "va_webhook_dropped_total",
    help: "Webhook deliveries given up undelivered, by reason (expired: older than events.outbox.maxAgeSec; overflow: beyond events.outbox.maxEvents, the oldest; write-failed: the outbox refused the write; unconfigured: the webhook left the configuration)",
    labelNames: ["reason"],
    registers: [registry],
    collect() {
      const dropped = webhooks.counters().dropped;
      for (const reason of WEBHOOK_DROP_REASONS) {
        this.inc({ reason }, 0);
        raiseTo(this, reportedDropped, reason, dropped[reason], "reason");
      }
    },
  });
}

/**
 * Raises a counter to a running total kept elsewhere (bytes sent, cache lookups): adds what grew since
 * the last scrape. `result` is the value of the counter's `label` (default `result`), or "" for a counter without labels.
 */
function raiseTo(counter: Counter, reported: Map<string, number>, result: string, total: number, label = "result"): void {
  const before = reported.get(result) ?? 0;
  if (total <= before) return;
  if (result === "") counter.inc(total - before);
  else counter.inc({ [label]: result }, total - before);
  reported.set(result, total);
}
