import type { Clock } from "../core/clock.js";
import type { ClusterView } from "../core/cluster-seams.js";
import type { Route } from "../core/api-route.js";
import { apiError } from "../core/api-errors.js";
import type { OverviewCounters } from "./overview-counters.js";
import { HISTORY_RANGES, type HistoryRange, type ViewerHistory } from "./viewer-history.js";

/** A channel of a server that runs its own sources (the bundled server), as `va_channel_up` reports it. */
export interface OverviewChannel {
  channel: string;
  up: boolean;
  restarts: Readonly<Record<string, number>>;
}

/** What the overview and the long history read. */
export interface OverviewRoutesDeps {
  counters: OverviewCounters;
  history: ViewerHistory;
  /** The bundled server's channels; absent when the plugin runs in someone else's app. */
  channels: (() => readonly OverviewChannel[]) | undefined;
  /** The edges' link, with a `cluster` section. */
  cluster: Pick<ClusterView, "status" | "edges"> | undefined;
  clock: Clock;
}

/**
 * The console's landing page in one call (`GET /api/overview`): viewers now per protocol and channel,
 * the bandwidth over the last minute, the chain's admissions and refusals per minute over the last hour,
 * the backend's health, the bundled server's channels and the edges; and a channel's concurrent viewers
 * over a day or a week (`GET /api/history?channel=app/name&range=24h|7d`). Both read counters kept as
 * things happen (OverviewCounters, ViewerHistory), never every session.
 */
export function overviewRoutes(deps: OverviewRoutesDeps): Route[] {
  return [
    { method: "GET", pattern: /^\/api\/overview$/, handler: async () => ({ status: 200, body: await overview(deps) }) },
    {
      method: "GET",
      pattern: /^\/api\/history$/,
      handler: ({ url }) => {
        const range = url.searchParams.get("range") ?? "24h";
        if (!Object.hasOwn(HISTORY_RANGES, range))
          return apiError(400, "VA_API_BAD_REQUEST", `range: must be one of ${Object.keys(HISTORY_RANGES).join(", ")}`);
        const channel = url.searchParams.get("channel");
        const series = deps.history.series(channel === null || channel === "" ? undefined : channel, range as HistoryRange);
        return { status: 200, body: { channel: channel === null || channel === "" ? null : channel, ...series } };
      },
    },
  ];
}

async function overview(deps: OverviewRoutesDeps): Promise<Record<string, unknown>> {
  const { counters } = deps;
  const minutes = counters.decisionsPerMinute();
  const refused: Record<string, number> = {};
  for (const m of minutes) for (const [step, n] of Object.entries(m.refused)) refused[step] = (refused[step] ?? 0) + n;
  return {
    at: deps.clock.now(),
    viewers: { total: counters.viewers, perProtocol: counters.viewersPerProtocol(), perChannel: counters.viewersPerChannel() },
    bandwidth: counters.bandwidth(),
    decisions: { admitted: minutes.reduce((a, m) => a + m.admitted, 0), refused, perMinute: minutes },
    backend: counters.hasBackend ? counters.backendHealth() : null,
    channels:
      deps.channels === undefined ? null : deps.channels().map((c) => ({ channel: c.channel, up: c.up, restarts: { ...c.restarts } })),
    cluster: deps.cluster === undefined ? null : await clusterOf(deps.cluster),
  };
}

async function clusterOf(cluster: Pick<ClusterView, "status" | "edges">): Promise<Record<string, unknown>> {
  const status = cluster.status();
  const edges = await cluster.edges();
  // The status is read after the edges: a failed read marks Redis down.
  return { node: status.node, redis: cluster.status().redis, onRedisDown: status.onRedisDown, edges: edges ?? null };
}
