import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/log.js";
import type { SessionStore } from "../core/session-store.js";
import { snapshotOf, type ViewerSession } from "../core/viewer-session.js";
import type { Reply, Route } from "./api-route.js";
import type { Protocol } from "../core/auth-request.js";

/** The largest page of sessions one request may ask for. */
const MAX_PAGE = 10_000;

/** What the session routes work on. */
export interface SessionsRoutesDeps {
  registry: SessionStore;
  clock: Clock;
  log: Logger;
}

/**
 * Routes for live sessions: the list (filters channel, user, ip, protocol; pages with limit/offset),
 * one session, closing one (RTMP/FLV cut at once, HLS keys dead), and playing viewers per channel.
 */
export function sessionsRoutes({ registry, clock, log }: SessionsRoutesDeps): Route[] {
  return [
    { method: "GET", pattern: /^\/api\/sessions$/, handler: ({ url }) => listSessions(url) },
    { method: "GET", pattern: /^\/api\/sessions\/([^/]+)$/, handler: ({ params: [id] }) => {
      const session = registry.get(id!);
      return session === undefined ? noSuchSession() : { status: 200, body: snapshotOf(session, clock.now()) };
    } },
    { method: "DELETE", pattern: /^\/api\/sessions\/([^/]+)$/, handler: ({ params: [id] }) => {
      const session = registry.get(id!);
      if (session === undefined) return noSuchSession();
      registry.close(session, "closed-by-api");
      log.info({ event: "api.session_closed", sessionId: id }, "session closed through the API");
      return { status: 200, body: { closed: [id] } };
    } },
    { method: "GET", pattern: /^\/api\/viewers$/, handler: () => ({ status: 200, body: { viewers: viewersPerChannel() } }) },
  ];

  /** The filtered sessions, oldest first, a page at a time when `limit` (and `offset`) are given. */
  function listSessions(url: URL): Reply {
    const limit = wholeNumberParam(url, "limit", MAX_PAGE);
    const offset = wholeNumberParam(url, "offset", Number.MAX_SAFE_INTEGER);
    if (typeof limit === "string") return { status: 400, body: { error: limit } };
    if (typeof offset === "string") return { status: 400, body: { error: offset } };
    const matching = filtered(url);
    const now = clock.now();
    const start = offset ?? 0;
    const page = limit === undefined ? matching.slice(start) : matching.slice(start, start + limit);
    return { status: 200, body: { total: matching.length, offset: start, sessions: page.map((s) => snapshotOf(s, now)) } };
  }

  function filtered(url: URL): ViewerSession[] {
    const q = url.searchParams;
    const [channel, user, ip, protocol] = [q.get("channel"), q.get("user"), q.get("ip"), q.get("protocol")];
    return registry.list({
      ...(channel === null ? {} : { channel }),
      ...(user === null ? {} : { user }),
      ...(ip === null ? {} : { ip }),
      ...(protocol === null ? {} : { protocol: protocol as Protocol }),
    });
  }

  function viewersPerChannel(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const s of registry.list({ state: "playing" })) {
      const key = `${s.app}/${s.channel}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }
}

function noSuchSession(): Reply {
  return { status: 404, body: { error: "no such live session" } };
}

/** A whole-number query parameter in 0..max, undefined when absent, or an error message. */
function wholeNumberParam(url: URL, name: string, max: number): number | undefined | string {
  const text = url.searchParams.get(name);
  if (text === null || text === "") return undefined;
  const value = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  return Number.isSafeInteger(value) && value <= max ? value : `${name}: "${text.slice(0, 20)}" must be a whole number from 0 to ${max}`;
}
