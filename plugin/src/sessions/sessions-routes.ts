import type { Clock } from "../core/clock.js";
import type { SharedSessionSnapshot } from "../core/cluster-seams.js";
import type { Logger } from "../core/log.js";
import type { SessionFilter, SessionStore } from "../core/session-store.js";
import { snapshotOf, type SessionSnapshot } from "../core/viewer-session.js";
import type { Reply, Route } from "../core/api-route.js";
import type { Protocol } from "../core/auth-request.js";
import { runEverywhere, type RevocationDeps } from "./revocation.js";
import { apiError } from "../core/api-errors.js";

/** The largest page of sessions one request may ask for. */
const MAX_PAGE = 10_000;

/** What the session routes work on. */
export interface SessionsRoutesDeps {
  registry: SessionStore;
  clock: Clock;
  log: Logger;
  /** Closes on every edge; with a cluster, the lists show every edge's sessions (each with `node`). */
  revocation: RevocationDeps;
}

/**
 * Routes for live sessions: the list (filters channel, user, ip, protocol; pages with limit/offset),
 * one session, closing one (RTMP/FLV cut at once, HLS keys dead), and playing viewers per channel.
 * With a cluster they cover every edge: each session carries the `node` it plays on, and a close
 * reaches the edge that holds the session. While Redis is away they answer with this edge's sessions
 * and `"partial": true`.
 */
export function sessionsRoutes({ registry, clock, log, revocation }: SessionsRoutesDeps): Route[] {
  const cluster = revocation.cluster;
  return [
    { method: "GET", pattern: /^\/api\/sessions$/, handler: ({ url }) => listSessions(url) },
    {
      method: "GET",
      pattern: /^\/api\/sessions\/([^/]+)$/,
      handler: async ({ params: [id] }) => {
        const session = registry.get(id!);
        if (session !== undefined) return { status: 200, body: withNode(snapshotOf(session, clock.now())) };
        const remote = (await cluster?.sessions())?.find((s) => s.id === id);
        return remote === undefined ? noSuchSession() : { status: 200, body: remote };
      },
    },
    {
      method: "DELETE",
      pattern: /^\/api\/sessions\/([^/]+)$/,
      handler: async ({ params: [id] }) => {
        const session = registry.get(id!);
        if (session !== undefined) {
          registry.close(session, "closed-by-api");
        } else {
          const remote = (await cluster?.sessions())?.find((s) => s.id === id);
          if (remote === undefined) return noSuchSession();
          await runEverywhere(revocation, { op: "close-session", id: id! });
        }
        log.info({ event: "api.session_closed", sessionId: id }, "session closed through the API");
        return { status: 200, body: { closed: [id] } };
      },
    },
    {
      method: "GET",
      pattern: /^\/api\/viewers$/,
      handler: async () => {
        const { sessions, partial } = await everySession();
        return { status: 200, body: { viewers: viewersPerChannel(sessions), ...(partial ? { partial } : {}) } };
      },
    },
  ];

  /** The filtered sessions, oldest first, a page at a time when `limit` (and `offset`) are given. */
  async function listSessions(url: URL): Promise<Reply> {
    const limit = wholeNumberParam(url, "limit", MAX_PAGE);
    const offset = wholeNumberParam(url, "offset", Number.MAX_SAFE_INTEGER);
    if (typeof limit === "string") return apiError(400, "VA_API_BAD_REQUEST", limit);
    if (typeof offset === "string") return apiError(400, "VA_API_BAD_REQUEST", offset);
    const start = offset ?? 0;
    const pageOf = <T>(all: readonly T[]) => (limit === undefined ? all.slice(start) : all.slice(start, start + limit));
    const shared = await cluster?.sessions();
    if (shared !== undefined) {
      const matching = shared.filter(matcherOf(url));
      return { status: 200, body: { total: matching.length, offset: start, sessions: pageOf(matching) } };
    }
    // This edge alone: filtered by the store's indexes, and only the page is turned into snapshots.
    const matching = registry.list(filterOf(url));
    const now = clock.now();
    const sessions = pageOf(matching).map((s) => withNode(snapshotOf(s, now)));
    return { status: 200, body: { total: matching.length, offset: start, sessions, ...(cluster !== undefined ? { partial: true } : {}) } };
  }

  /** This edge's live sessions, or every edge's with a cluster (this edge's alone while Redis is away). */
  async function everySession(): Promise<{ sessions: (SessionSnapshot | SharedSessionSnapshot)[]; partial: boolean }> {
    if (cluster !== undefined) {
      const shared = await cluster.sessions();
      if (shared !== undefined) return { sessions: shared, partial: false };
    }
    const now = clock.now();
    return { sessions: registry.list().map((s) => withNode(snapshotOf(s, now))), partial: cluster !== undefined };
  }

  function withNode(snapshot: SessionSnapshot): SessionSnapshot | SharedSessionSnapshot {
    return cluster === undefined ? snapshot : { ...snapshot, node: cluster.nodeId };
  }
}

/** The API's filters as a store filter. */
function filterOf(url: URL): SessionFilter {
  const q = url.searchParams;
  const [channel, user, ip, protocol] = [q.get("channel"), q.get("user"), q.get("ip"), q.get("protocol")];
  return {
    ...(channel === null ? {} : { channel }),
    ...(user === null ? {} : { user }),
    ...(ip === null ? {} : { ip }),
    ...(protocol === null ? {} : { protocol: protocol as Protocol }),
  };
}

/** The API's filters (channel, user id or session name, address, protocol) as a predicate on snapshots. */
function matcherOf(url: URL): (s: SessionSnapshot) => boolean {
  const q = url.searchParams;
  const [channel, user, ip, protocol] = [q.get("channel"), q.get("user"), q.get("ip"), q.get("protocol")];
  return (s) =>
    (channel === null || s.channel === channel) &&
    (user === null || s.userId === user || s.name === user) &&
    (ip === null || s.ip === ip) &&
    (protocol === null || s.protocol === (protocol as Protocol));
}

function viewersPerChannel(sessions: readonly SessionSnapshot[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of sessions) {
    if (s.state !== "playing") continue;
    const key = `${s.app}/${s.channel}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

function noSuchSession(): Reply {
  return apiError(404, "VA_API_NOT_FOUND", "no such live session");
}

/** A whole-number query parameter in 0..max, undefined when absent, or an error message. */
function wholeNumberParam(url: URL, name: string, max: number): number | undefined | string {
  const text = url.searchParams.get(name);
  if (text === null || text === "") return undefined;
  const value = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  return Number.isSafeInteger(value) && value <= max ? value : `${name}: "${text.slice(0, 20)}" must be a whole number from 0 to ${max}`;
}
