import type { AuthRequest, Protocol } from "./auth-request.js";
import { secretsEqual } from "./secrets.js";
import type { SessionIdentity } from "./decision.js";
import type { EndReason, SessionRefusal, SessionState, SessionTransport, ViewerSession } from "./viewer-session.js";

/** What is known of a viewer when its check starts. */
export interface SessionStart {
  protocol: Protocol;
  app: string;
  channel: string;
  ip: string;
  userAgent: string;
  transport: SessionTransport;
}

/** Which sessions a count or a query is about; every given field must match. */
export interface SessionFilter {
  app?: string;
  channel?: string;
  /** The user id (built-in login or backend `X-UserId`) or the session name. */
  user?: string;
  /** Only sessions whose user id is this (what per-user limits count). */
  userId?: string;
  ip?: string;
  protocol?: Protocol;
  state?: Exclude<SessionState, "ended">;
  /** Sessions let in with this `?token=` (compared in constant time). */
  token?: string;
}

/** A page of a query: `limit` sessions (all when undefined) after skipping `offset`. */
export interface SessionPageRequest {
  limit?: number;
  offset?: number;
}

/** A page of sessions, oldest first, with how many matched in all. */
export interface SessionPage {
  total: number;
  sessions: ViewerSession[];
}

/** What the store tells subscribers: `opened` (check started), `playing` (admitted), `ended`. */
export type SessionEvent = "opened" | "playing" | "ended";

/** What an admitted or re-checked session is known as: who (identity) and what it asked (request). */
export interface SessionGrantFacts {
  identity: SessionIdentity | undefined;
  /** Kept for re-checks; undefined only where nothing will re-check (tests, benches). */
  request: AuthRequest | undefined;
  /** When the credential of the allow ends (the decision's `validUntilMs`); undefined: it does not. */
  validUntilMs?: number | undefined;
}

/**
 * SessionStore holds every live viewer session, whatever the protocol, and is the only writer of
 * session fields: gates open and end sessions through it, limits count through it, the API, metrics and
 * statistics query and subscribe to it. The in-memory store is the first implementation; a store
 * shared by several servers implements the same contract.
 */
export interface SessionStore {
  /** Opens a session in state `checking` with a fresh unguessable id (the backend's `X-Session-Id`). */
  open(start: SessionStart): ViewerSession;
  /** Corrects what a checking session knows of its viewer once the request is parsed (address behind a proxy, user agent). */
  describe(session: ViewerSession, facts: { ip?: string; userAgent?: string }): void;
  /** Marks a checked session as playing, under its identity and with the request it was let in with. */
  admit(session: ViewerSession, facts: SessionGrantFacts): void;
  /**
   * Records a re-check of a playing session: its new request, and its identity when the chain named one.
   * With `validity`, the allow's credential end replaces the session's (`until` undefined: no end).
   */
  renew(
    session: ViewerSession,
    facts: { request: AuthRequest; identity?: SessionIdentity | undefined; validity?: { until: number | undefined } },
  ): void;
  /** The viewer did something now (an HLS request); `media`: it fetched media (an HLS segment), so it plays. */
  touch(session: ViewerSession, media?: boolean): void;
  /**
   * Ends a session once: freezes its bytes, removes it, tells `ended` subscribers. Later calls do nothing.
   * `refusal` says which stage refused a session that never played, and whom (statistics aggregate anonymous ones).
   */
  end(session: ViewerSession, reason: EndReason, refusal?: SessionRefusal): void;
  /** Ends a live session and cuts its connection (RTMP/FLV) or kills its key (HLS). */
  close(session: ViewerSession, reason: EndReason): void;
  /** Drops a session that turned out not to be a viewer (the server's own transcoder): no event, no statistics. */
  discard(session: ViewerSession): void;
  get(id: string): ViewerSession | undefined;
  /** How many live sessions match. */
  count(filter?: SessionFilter): number;
  /** The live sessions that match, oldest first, a page at a time. */
  query(filter?: SessionFilter, page?: SessionPageRequest): SessionPage;
  /** Every live session that matches, oldest first (`query` without paging). */
  list(filter?: SessionFilter): ViewerSession[];
  /** Calls `listener` on every such event; returns the unsubscribe function. */
  subscribe(event: SessionEvent, listener: (session: ViewerSession) => void): () => void;
  /** Live sessions (checking or playing). */
  readonly size: number;
}

/** Whether a session belongs to a user: by user id (built-in login or backend `X-UserId`) or session name. */
export function isSessionOf(session: ViewerSession, user: string): boolean {
  return session.identity?.userId === user || session.identity?.name === user;
}

/** Whether a live session matches a filter. */
export function matchesFilter(session: ViewerSession, filter: SessionFilter): boolean {
  return (
    (filter.app === undefined || session.app === filter.app) &&
    (filter.channel === undefined || session.channel === filter.channel) &&
    (filter.user === undefined || isSessionOf(session, filter.user)) &&
    (filter.userId === undefined || session.identity?.userId === filter.userId) &&
    (filter.ip === undefined || session.ip === filter.ip) &&
    (filter.protocol === undefined || session.protocol === filter.protocol) &&
    (filter.state === undefined || session.state === filter.state) &&
    (filter.token === undefined || carriesToken(session, filter.token))
  );
}

function carriesToken(session: ViewerSession, token: string): boolean {
  const used = session.request?.params.get("token");
  return used !== null && used !== undefined && secretsEqual(used, token);
}
