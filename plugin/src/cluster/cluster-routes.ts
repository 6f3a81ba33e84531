import type { Route } from "../core/api-route.js";
import type { ClusterView } from "../sessions/revocation.js";
import type { UsageRow } from "../stats/stats-ledger.js";
import { apiError } from "../core/api-errors.js";

/**
 * Routes about the edges (with a `cluster` section): this edge's link to Redis, and the statistics
 * totals every live edge publishes (statistics stay in each edge's own SQLite ledger; each edge
 * republishes its per-channel totals to Redis every 5 heartbeats), per edge and merged.
 */
export function clusterRoutes(cluster: ClusterView | undefined): Route[] {
  const off = apiError(404, "VA_API_FEATURE_OFF", "no cluster: add a cluster section to share sessions between edges");
  return [
    {
      method: "GET",
      pattern: /^\/api\/cluster$/,
      handler: async () => {
        if (cluster === undefined) return off;
        const sessions = await cluster.sessions();
        const perNode: Record<string, number> = {};
        for (const s of sessions ?? []) perNode[s.node] = (perNode[s.node] ?? 0) + 1;
        return {
          status: 200,
          body: { ...cluster.status(), leaseMs: cluster.leaseMs, ...(sessions === undefined ? {} : { sessionsPerNode: perNode }) },
        };
      },
    },
    {
      method: "GET",
      pattern: /^\/api\/cluster\/stats$/,
      handler: async ({ url }) => {
        if (cluster === undefined) return off;
        const byNode = await cluster.statsByNode();
        if (byNode === undefined)
          return apiError(503, "VA_API_UNAVAILABLE", "Redis is unreachable; this edge's own statistics are at /api/stats/channels");
        const node = url.searchParams.get("node");
        if (node !== null)
          return byNode[node] === undefined
            ? apiError(404, "VA_API_NOT_FOUND", `no live edge "${node}" with statistics`)
            : { status: 200, body: { node, ...(byNode[node] as object) } };
        return { status: 200, body: { nodes: byNode, merged: { channels: mergedChannels(Object.values(byNode)) } } };
      },
    },
  ];
}

/** Per-channel totals summed over every edge. */
function mergedChannels(totals: readonly unknown[]): UsageRow[] {
  const merged = new Map<string, UsageRow>();
  for (const t of totals) {
    for (const row of (t as { channels?: UsageRow[] }).channels ?? []) {
      const m = merged.get(row.key) ?? { key: row.key, sessions: 0, watchSeconds: 0, bytesOut: 0 };
      m.sessions += row.sessions;
      m.watchSeconds += row.watchSeconds;
      m.bytesOut += row.bytesOut;
      merged.set(row.key, m);
    }
  }
  return [...merged.values()].sort((a, b) => a.key.localeCompare(b.key));
}
