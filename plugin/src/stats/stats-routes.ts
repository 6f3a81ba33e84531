import type { Clock } from "../core/clock.js";
import type { StatsLedger } from "./stats-ledger.js";
import type { Reply, Route } from "../core/api-route.js";
import { apiError } from "../core/api-errors.js";

/** The Prometheus page the `/metrics` route serves (`PluginMetrics`, in `metrics/`, a floor above). */
export interface MetricsPage {
  render(): Promise<{ contentType: string; body: string }>;
}

/** Closed sessions of one user listed at most. */
const MAX_USER_SESSIONS = 500;

/** What the statistics routes read. */
export interface StatsRoutesDeps {
  /** The ledger, when `stats.file` is set. */
  ledger: StatsLedger | undefined;
  metrics: MetricsPage;
  clock: Clock;
}

/**
 * Routes for viewing statistics (aggregates per channel or user over a time range, and per day, the CSV of closed
 * sessions, the per-minute refusal counters) and Prometheus metrics.
 */
export function statsRoutes({ ledger, metrics, clock }: StatsRoutesDeps): Route[] {
  return [
    usageRoute(/^\/api\/stats\/(channels|users)$/, (stats, key, range) => stats.usage(key, range.from, range.to)),
    usageRoute(/^\/api\/stats\/daily\/(channels|users)$/, (stats, key, range) => stats.dailyUsage(key, range.from, range.to)),
    // Refusals and other sessions that never played without an identity: counted per minute, not one row each.
    {
      method: "GET",
      pattern: /^\/api\/stats\/refusals$/,
      handler: ({ url }) =>
        withRange(url, (stats, range) => ({
          status: 200,
          body: { from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString(), ...stats.refusals(range.from, range.to) },
        })),
    },
    {
      method: "GET",
      pattern: /^\/api\/stats\/sessions\.csv$/,
      handler: ({ url }) =>
        withRange(url, (stats, range) => ({
          status: 200,
          body: stats.exportCsv(range.from, range.to),
          contentType: "text/csv; charset=utf-8",
        })),
    },
    // One user's newest closed sessions (the console's per-user page): the user id, or the session name without one.
    {
      method: "GET",
      pattern: /^\/api\/stats\/users\/([^/]+)\/sessions$/,
      handler: ({ url, params: [user] }) => {
        if (ledger === undefined) return apiError(404, "VA_API_FEATURE_OFF", "statistics are off (set stats.file)");
        const limitText = url.searchParams.get("limit") ?? "50";
        const limit = /^\d{1,4}$/.test(limitText) ? Number(limitText) : NaN;
        if (!(limit >= 1 && limit <= MAX_USER_SESSIONS))
          return apiError(400, "VA_API_BAD_REQUEST", `limit: must be a whole number from 1 to ${MAX_USER_SESSIONS}`);
        return { status: 200, body: { user, sessions: ledger.userSessions(user!, limit) } };
      },
    },
    {
      method: "GET",
      pattern: /^\/metrics$/,
      handler: async () => {
        const { contentType, body } = await metrics.render();
        return { status: 200, body, contentType };
      },
    },
  ];

  /** A usage route: `channels` or `users` from the path, rows over the `from`/`to` range. */
  function usageRoute(
    pattern: RegExp,
    rowsOf: (stats: StatsLedger, key: "channel" | "user", range: { from: number; to: number }) => unknown,
  ): Route {
    return {
      method: "GET",
      pattern,
      handler: ({ url, params: [by] }) =>
        withRange(url, (stats, range) => {
          const key = by === "users" ? "user" : "channel";
          const body = {
            from: new Date(range.from).toISOString(),
            to: new Date(range.to).toISOString(),
            by: key,
            rows: rowsOf(stats, key, range),
          };
          return { status: 200, body };
        }),
    };
  }

  function withRange(url: URL, answer: (stats: StatsLedger, range: { from: number; to: number }) => Reply): Reply {
    if (ledger === undefined) return apiError(404, "VA_API_FEATURE_OFF", "statistics are off (set stats.file)");
    const range = timeRange(url, clock.now());
    if (typeof range === "string") return apiError(400, "VA_API_BAD_REQUEST", range);
    return answer(ledger, range);
  }
}

/** `from`/`to` query parameters as ms since the epoch or ISO 8601; defaults: everything until now. */
function timeRange(url: URL, now: number): { from: number; to: number } | string {
  const parse = (name: string, fallback: number): number | string => {
    const text = url.searchParams.get(name);
    if (text === null || text === "") return fallback;
    const value = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
    return Number.isFinite(value) ? value : `${name}: "${text.slice(0, 40)}" is not a time (ms since the epoch or ISO 8601)`;
  };
  const from = parse("from", 0);
  const to = parse("to", now + 1);
  if (typeof from === "string") return from;
  if (typeof to === "string") return to;
  return from < to ? { from, to } : "from must be before to";
}
