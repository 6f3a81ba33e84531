import type { Clock } from "../core/clock.js";
import type { Reply, Route } from "../core/api-route.js";
import { apiError } from "../core/api-errors.js";
import { AUDIT_ACTIONS, type AuditTrail } from "./audit-trail.js";

const MAX_LIMIT = 1_000;
const DEFAULT_LIMIT = 100;

/**
 * `GET /api/audit?since=&until=&actor=&action=&limit=`: the operator actions, newest first. `since` and
 * `until` are ms since the epoch or ISO 8601 (default: everything until now), `limit` 1–1,000 (100).
 */
export function auditRoutes(trail: AuditTrail, clock: Clock): Route[] {
  return [{ method: "GET", pattern: /^\/api\/audit$/, handler: ({ url }) => list(url) }];

  function list(url: URL): Reply {
    const q = url.searchParams;
    const since = timeOf(q.get("since"), 0);
    const until = timeOf(q.get("until"), clock.now() + 1);
    if (since === undefined) return apiError(400, "VA_API_BAD_REQUEST", "since: not a time (ms since the epoch or ISO 8601)");
    if (until === undefined) return apiError(400, "VA_API_BAD_REQUEST", "until: not a time (ms since the epoch or ISO 8601)");
    const limitText = q.get("limit") ?? String(DEFAULT_LIMIT);
    const limit = /^\d{1,5}$/.test(limitText) ? Number(limitText) : NaN;
    if (!(limit >= 1 && limit <= MAX_LIMIT))
      return apiError(400, "VA_API_BAD_REQUEST", `limit: must be a whole number from 1 to ${MAX_LIMIT}`);
    const action = nonEmpty(q.get("action"));
    if (action !== undefined && !(AUDIT_ACTIONS as readonly string[]).includes(action))
      return apiError(400, "VA_API_BAD_REQUEST", `action: must be one of ${AUDIT_ACTIONS.join(", ")}`);
    const entries = trail.list({ since, until, actor: nonEmpty(q.get("actor")), action, limit });
    return {
      status: 200,
      body: {
        storage: trail.storage,
        entries: entries.map((e) => ({ ...e, at: new Date(e.at).toISOString() })),
      },
    };
  }
}

function timeOf(text: string | null, fallback: number): number | undefined {
  if (text === null || text === "") return fallback;
  const value = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  return Number.isFinite(value) ? value : undefined;
}

function nonEmpty(text: string | null): string | undefined {
  return text === null || text === "" ? undefined : text;
}
