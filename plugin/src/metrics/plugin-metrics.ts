import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { AuthChain } from "../chain/auth-chain.js";
import type { Authorizer } from "../core/authorizer.js";
import { guarded } from "../core/guarded.js";
import type { Logger } from "../core/log.js";
import type { SessionStore } from "../core/session-store.js";
import type { ViewerSession } from "../core/viewer-session.js";
import { DROP_REASONS, type StatsLedger } from "../stats/stats-ledger.js";
import { PUBLISH_ALLOW_REASONS, PUBLISH_DENY_REASONS, type PublishDecision } from "../publish/publish-decision.js";
import type { EdgeCluster } from "../cluster/edge-cluster.js";

/**
 * PluginMetrics is the Prometheus view of the plugin (served at `/metrics` by the management API):
 * decisions by step and verdict, per-step latency, the backend's HTTP round trips by status or
 * failure, the backend verdict cache, live sessions by protocol and channel, ended sessions by reason,
 * bytes sent to viewers, publish decisions by verdict and reason, and, with a statistics ledger, its
 * failed writes, waiting and dropped rows.
 * Every metric name starts with `va_` ("viewer auth", the plugin's short prefix, as in `VA_ERR_` codes)
 * so that it does not collide with NMS's or the host application's metrics on one scrape page.
 * A registry of its own, so two plugins in one process never collide. Its listeners on the chain and the
 * sessions are guarded (`metrics.listener_failed`): a counter that throws must not fail a viewer's check.
 */
export class PluginMetrics {
  readonly registry = new Registry();
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
  ) {
    const decisions = new Counter({
      name: "va_decisions_total",
      help: "Authorization decisions by deciding step and verdict",
      labelNames: ["step", "verdict"],
      registers: [this.registry],
    });
    const stepSeconds = new Histogram({
      name: "va_step_duration_seconds",
      help: "Time each chain step took (step=backend includes verdict cache hits)",
      labelNames: ["step"],
      buckets: [0.00001, 0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 3],
      registers: [this.registry],
    });
    this.#publishDecisions = publishDecisionCounter(this.registry);
    const ended = new Counter({
      name: "va_sessions_ended_total",
      help: "Sessions ended, by reason",
      labelNames: ["reason", "protocol"],
      registers: [this.registry],
    });
    const unplayedRefused = new Counter({
      name: "va_hls_unplayed_refused_total",
      help: "HLS playlist requests refused (429) because their credential already held hls.maxUnplayedPerViewer sessions from that address that fetched no segment",
      registers: [this.registry],
    });
    const endedBytes = this.#endedBytes;
    const reportedBytes = new Map<string, number>();
    new Counter({
      name: "va_bytes_out_total",
      help: "Bytes sent to viewers (live sessions included)",
      registers: [this.registry],
      collect() {
        raiseTo(this, reportedBytes, "", endedBytes.total + sessions.list().reduce((sum, s) => sum + s.transport.bytesOut(), 0));
      },
    });
    new Gauge({
      name: "va_live_sessions",
      help: "Live viewer sessions by protocol and channel",
      labelNames: ["protocol", "channel"],
      registers: [this.registry],
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
      registers: [this.registry],
      collect() {
        for (const [result, value] of Object.entries(backend?.counters?.() ?? {})) raiseTo(this, reportedLookups, result, value);
      },
    });
    const backendSeconds = new Histogram({
      name: "va_backend_request_duration_seconds",
      help: "Round trips to the middleware backend (cache hits excluded), by HTTP status or failure",
      labelNames: ["result"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    if (ledger !== undefined) registerLedgerMetrics(this.registry, ledger);
    if (cluster !== undefined) registerClusterMetrics(this.registry, cluster);
    const stopCalls = backend?.onCall?.(
      guarded(log, "metrics.listener_failed", function observeBackendCall(call: { result: string; seconds: number }) {
        backendSeconds.observe({ result: call.result }, call.seconds);
      }),
    );
    const onDecision = guarded(log, "metrics.listener_failed", function countDecision(_: unknown, d: { step: string; verdict: string }) {
      decisions.inc({ step: d.step, verdict: d.verdict });
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

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
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
