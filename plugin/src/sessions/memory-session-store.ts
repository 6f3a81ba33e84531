import { randomBytes } from "node:crypto";
import type { Clock } from "../core/clock.js";
import { guarded } from "../core/guarded.js";
import type { Logger } from "../core/log.js";
import {
  matchesFilter,
  type SessionEvent,
  type SessionFilter,
  type SessionGrantFacts,
  type SessionPage,
  type SessionPageRequest,
  type SessionStart,
  type SessionStore,
} from "../core/session-store.js";
import type { AuthRequest } from "../core/auth-request.js";
import type { SessionIdentity } from "../core/decision.js";
import {
  lastActivityOf,
  snapshotOf,
  type EndReason,
  type SessionRefusal,
  type SessionSnapshot,
  type ViewerSession,
} from "../core/viewer-session.js";

/** Index of playing sessions by one key (user id, address, channel): counts without a scan. */
class SessionIndex {
  readonly #sets = new Map<string, Set<ViewerSession>>();

  add(key: string | undefined, session: ViewerSession): void {
    if (key === undefined) return;
    let set = this.#sets.get(key);
    if (set === undefined) this.#sets.set(key, (set = new Set()));
    set.add(session);
  }

  delete(key: string | undefined, session: ViewerSession): void {
    if (key === undefined) return;
    const set = this.#sets.get(key);
    if (set === undefined) return;
    set.delete(session);
    if (set.size === 0) this.#sets.delete(key);
  }

  get(key: string): ReadonlySet<ViewerSession> {
    return this.#sets.get(key) ?? EMPTY;
  }
}

const EMPTY: ReadonlySet<ViewerSession> = new Set();

/**
 * MemorySessionStore is the in-process SessionStore: every live session in a map (in the order they
 * opened), plus indexes of playing sessions by user id, address and channel so that limits and
 * per-channel counts cost no scan. Subscribers run guarded: one that throws is logged
 * (`session.listener_failed`) and the others still run, so a broken statistics or metrics listener
 * cannot stop a session from ending or the server.
 */
export class MemorySessionStore implements SessionStore {
  readonly #live = new Map<string, ViewerSession>();
  readonly #byUserId = new SessionIndex();
  readonly #byIp = new SessionIndex();
  readonly #byChannel = new SessionIndex();
  readonly #listeners: Record<SessionEvent, Set<(session: ViewerSession) => void>> = {
    opened: new Set(),
    playing: new Set(),
    ended: new Set(),
  };
  readonly #clock: Clock;
  readonly #log: Logger;

  constructor(clock: Clock, log: Logger) {
    this.#clock = clock;
    this.#log = log;
  }

  open(start: SessionStart): ViewerSession {
    const now = this.#clock.now();
    const session: ViewerSession = {
      id: newSessionId(),
      ...start,
      startedAt: now,
      lastActivityAt: now,
      state: "checking",
      identity: undefined,
      playingSince: undefined,
      request: undefined,
      endedAt: undefined,
      endReason: undefined,
      finalBytesOut: undefined,
    };
    this.#live.set(session.id, session);
    this.#announce("opened", session);
    return session;
  }

  describe(session: ViewerSession, facts: { ip?: string; userAgent?: string }): void {
    if (session.state !== "checking") return;
    const writable = session as { ip: string; userAgent: string };
    if (facts.ip !== undefined) writable.ip = facts.ip;
    if (facts.userAgent !== undefined) writable.userAgent = facts.userAgent;
  }

  admit(session: ViewerSession, facts: SessionGrantFacts): void {
    if (session.state !== "checking") return;
    session.identity = facts.identity;
    session.request = facts.request;
    session.validUntilMs = facts.validUntilMs;
    session.state = "playing";
    session.playingSince = this.#clock.now();
    session.lastActivityAt = session.playingSince;
    // RTMP and FLV send media from the admission on; HLS only once a segment is fetched (touch).
    if (session.protocol !== "hls") session.mediaSince = session.playingSince;
    this.#index(session);
    this.#announce("playing", session);
  }

  renew(
    session: ViewerSession,
    facts: { request: AuthRequest; identity?: SessionIdentity | undefined; validity?: { until: number | undefined } },
  ): void {
    if (session.state === "ended") return;
    session.request = facts.request;
    if (facts.validity !== undefined) session.validUntilMs = facts.validity.until;
    if (facts.identity === undefined || session.state !== "playing") return;
    this.#unindex(session);
    session.identity = facts.identity;
    this.#index(session);
  }

  touch(session: ViewerSession, media = false): void {
    session.lastActivityAt = this.#clock.now();
    if (media && session.mediaSince === undefined && session.state === "playing") session.mediaSince = session.lastActivityAt;
  }

  discard(session: ViewerSession): void {
    if (session.state === "ended") return;
    this.#unindex(session);
    session.state = "ended";
    session.endedAt = this.#clock.now();
    this.#live.delete(session.id);
  }

  end(session: ViewerSession, reason: EndReason, refusal?: SessionRefusal): void {
    if (session.state === "ended") return;
    if (refusal !== undefined) session.refusal = refusal;
    this.#unindex(session);
    session.finalBytesOut = this.#finalBytesOf(session);
    session.endedAt = this.#clock.now();
    session.lastActivityAt = lastActivityOf(session, session.endedAt); // a streaming viewer was active until now
    session.state = "ended";
    session.endReason = reason;
    this.#live.delete(session.id);
    this.#log.info({ event: "session.end", session: summary(snapshotOf(session)) }, "session ended");
    this.#announce("ended", session);
  }

  close(session: ViewerSession, reason: EndReason): void {
    if (session.state === "ended") return;
    this.end(session, reason);
    try {
      session.transport.close();
    } catch (error) {
      this.#log.warn({ event: "session.close_failed", sessionId: session.id, err: error }, "closing the viewer connection failed");
    }
  }

  get(id: string): ViewerSession | undefined {
    return this.#live.get(id);
  }

  count(filter: SessionFilter = {}): number {
    const indexed = this.#indexedCandidates(filter);
    if (indexed === undefined) return Object.keys(filter).length === 0 ? this.#live.size : this.#scan(filter).length;
    let n = 0;
    for (const s of indexed) if (matchesFilter(s, filter)) n++;
    return n;
  }

  query(filter: SessionFilter = {}, page: SessionPageRequest = {}): SessionPage {
    const matching = this.list(filter);
    const start = page.offset ?? 0;
    const sessions = page.limit === undefined ? matching.slice(start) : matching.slice(start, start + page.limit);
    return { total: matching.length, sessions };
  }

  list(filter: SessionFilter = {}): ViewerSession[] {
    const indexed = this.#indexedCandidates(filter);
    if (indexed === undefined) return this.#scan(filter);
    return [...indexed].filter((s) => matchesFilter(s, filter)).sort((a, b) => a.startedAt - b.startedAt);
  }

  subscribe(event: SessionEvent, listener: (session: ViewerSession) => void): () => void {
    // Guarded once here, not at every announce: each session opens, plays and ends through these.
    const safe = guarded(this.#log, "session.listener_failed", listener);
    this.#listeners[event].add(safe);
    return () => this.#listeners[event].delete(safe);
  }

  get size(): number {
    return this.#live.size;
  }

  /** Playing sessions are indexed; a filter on a playing session's user, address or channel reads the smallest index. */
  #indexedCandidates(filter: SessionFilter): ReadonlySet<ViewerSession> | undefined {
    if (filter.state !== "playing") return undefined;
    const candidates: ReadonlySet<ViewerSession>[] = [];
    if (filter.userId !== undefined) candidates.push(this.#byUserId.get(filter.userId));
    if (filter.ip !== undefined) candidates.push(this.#byIp.get(filter.ip));
    if (filter.app !== undefined && filter.channel !== undefined)
      candidates.push(this.#byChannel.get(channelKey(filter.app, filter.channel)));
    if (candidates.length === 0) return undefined;
    return candidates.reduce((a, b) => (b.size < a.size ? b : a));
  }

  #scan(filter: SessionFilter): ViewerSession[] {
    const out: ViewerSession[] = [];
    for (const s of this.#live.values()) if (matchesFilter(s, filter)) out.push(s);
    return out;
  }

  #index(session: ViewerSession): void {
    this.#byUserId.add(session.identity?.userId, session);
    this.#byIp.add(session.ip, session);
    this.#byChannel.add(channelKey(session.app, session.channel), session);
  }

  #unindex(session: ViewerSession): void {
    if (session.state !== "playing") return;
    this.#byUserId.delete(session.identity?.userId, session);
    this.#byIp.delete(session.ip, session);
    this.#byChannel.delete(channelKey(session.app, session.channel), session);
  }

  /** The session's bytes at its end; a transport that cannot say is logged and counted as 0, so the session still ends. */
  #finalBytesOf(session: ViewerSession): number {
    try {
      return session.transport.bytesOut();
    } catch (error) {
      this.#log.warn(
        { event: "session.bytes_failed", sessionId: session.id, err: error },
        "reading the bytes sent to a viewer failed; recorded as 0",
      );
      return 0;
    }
  }

  /** Every subscriber runs guarded: otherwise the first one to throw skips the rest and throws into the protocol code that ended the session. */
  #announce(event: SessionEvent, session: ViewerSession): void {
    for (const listener of [...this.#listeners[event]]) listener(session);
  }
}

function channelKey(app: string, channel: string): string {
  return `${app}/${channel}`;
}

/** Session ids drawn from one CSPRNG call: a join storm opens thousands of sessions within a second or two. */
const SESSION_ID_BYTES = 16;
const SESSION_IDS_PER_DRAW = 256;
let idPool = Buffer.alloc(0);
let idPoolAt = 0;

/**
 * 128 random bits, URL-safe: ids are shown to backends and operators, so they must not be guessable. Taken
 * from a pool filled by one `randomBytes` call per 256 ids (each id's bytes are used once), which profiles
 * of a 1,500-viewer join storm showed as the admission's largest own cost when drawn one by one.
 */
function newSessionId(): string {
  if (idPoolAt + SESSION_ID_BYTES > idPool.length) {
    idPool = randomBytes(SESSION_ID_BYTES * SESSION_IDS_PER_DRAW);
    idPoolAt = 0;
  }
  const id = idPool.toString("base64url", idPoolAt, idPoolAt + SESSION_ID_BYTES);
  idPoolAt += SESSION_ID_BYTES;
  return id;
}

function summary(s: SessionSnapshot) {
  return {
    id: s.id,
    protocol: s.protocol,
    channel: s.channel,
    ip: s.ip,
    name: s.name,
    userId: s.userId,
    durationMs: (s.endedAt ?? s.startedAt) - s.startedAt,
    bytesOut: s.bytesOut,
    reason: s.endReason,
  };
}
