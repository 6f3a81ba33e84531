import type { SessionIdentity } from "../core/decision.js";
import type { LimitPolicy } from "./sessions-schema.js";
import type { LimitKey, SharedAdmission, SharedLimits } from "../core/cluster-seams.js";
import type { SessionFilter, SessionGrantFacts, SessionStore } from "../core/session-store.js";
import type { ViewerSession } from "../core/viewer-session.js";

/** How long a newcomer waits under close-oldest for another edge to close the oldest session and free its slot, ms. */
const MAKE_ROOM_MS = 1500;
const MAKE_ROOM_RETRY_MS = 50;

/** Optional caps besides the per-user limit; 0 means no cap. */
export interface SessionCaps {
  maxPerIp: number;
  maxPerChannel: number;
}

/** One limit that applies to a newcomer: which sessions it counts and how many may play. */
interface Limit extends LimitKey {
  members: SessionFilter;
}

/** What the limiter says about a newcomer. */
export type LimitOutcome = { admitted: true } | { admitted: false; reason: string };

/** Where a newcomer would play: what the address and channel limits count. */
export interface LimitSubject {
  readonly ip: string;
  readonly app: string;
  readonly channel: string;
}

/** One limit that applies to a newcomer as an explain reports it: how full it is and what joining would do. */
export interface LimitPreview {
  readonly kind: LimitKey["kind"];
  readonly what: string;
  readonly max: number;
  /** Sessions of this edge playing under the limit now. */
  readonly playing: number;
  /** `room`: the newcomer fits; `refuse`: refused (reject-new); `close-oldest`: these sessions would be closed to make room. */
  readonly outcome: "room" | "refuse" | "close-oldest";
  /** With `close-oldest`, the ids of the sessions that would be closed, oldest first. */
  readonly wouldClose?: readonly string[];
}

/**
 * Enforces "at most N sessions" across every protocol: per user (built-in limit, backend
 * `X-Max-Sessions` per `X-UserId`), and optionally per viewer address and per channel. The policy
 * refuses the newcomer or closes the oldest sessions to make room. Counting is the store's (indexed
 * there), so a limit check costs no scan of the live sessions.
 *
 * Alone, the check and the admission run synchronously, so two viewers joining at once cannot both slip
 * under a limit. With `shared` (several edges), the slot is taken first in the shared store, atomically
 * for all edges; if the shared store is away, `shared` says whether to count here alone or refuse.
 */
export class SessionLimiter {
  readonly #store: SessionStore;
  readonly #shared: SharedLimits | undefined;
  #policy: LimitPolicy;
  #caps: SessionCaps;

  constructor(store: SessionStore, policy: LimitPolicy, caps: SessionCaps = { maxPerIp: 0, maxPerChannel: 0 }, shared?: SharedLimits) {
    this.#store = store;
    this.#policy = policy;
    this.#caps = caps;
    this.#shared = shared;
  }

  /** Changes the policy and caps for the viewers who join from now on (a configuration reload). */
  configure(policy: LimitPolicy, caps: SessionCaps): void {
    this.#policy = policy;
    this.#caps = caps;
  }

  /** Admits the session as playing under its identity, or returns the reason it may not play. */
  async admit(session: ViewerSession, facts: SessionGrantFacts): Promise<LimitOutcome> {
    if (this.#shared === undefined) return this.#admitHere(session, facts);
    const limits = this.#limitsFor(session, facts.identity);
    let taken = await this.#shared.take(session, facts, limits);
    if (taken.outcome === "refused" && this.#policy === "close-oldest") taken = await this.#makeRoom(session, facts, limits, taken.key);
    switch (taken.outcome) {
      case "admitted":
        this.#store.admit(session, facts);
        return { admitted: true };
      case "refused":
        return { admitted: false, reason: `${limits[taken.key]!.what} is at the limit of ${limits[taken.key]!.max} session(s)` };
      case "unavailable":
        return { admitted: false, reason: "the shared session store is unreachable" };
      case "local":
        return this.#admitHere(session, facts);
    }
  }

  /**
   * close-oldest across edges: closes the oldest session under the full limit wherever it plays (another
   * edge's through the edge commands), then takes the slot again, waiting up to `MAKE_ROOM_MS` for the
   * other edge to close it and give its slot back. Without the cluster's help, this edge's oldest.
   */
  async #makeRoom(session: ViewerSession, facts: SessionGrantFacts, limits: readonly LimitKey[], full: number): Promise<SharedAdmission> {
    const shared = this.#shared!;
    const limit = limits[full]!;
    let found: boolean;
    if (shared.closeOldest !== undefined) found = await shared.closeOldest(limit);
    else {
      const oldest = this.#store.query(this.#membersOf(limit), { limit: 1 }).sessions[0];
      if (oldest !== undefined) this.#store.close(oldest, "limit");
      found = oldest !== undefined;
    }
    let taken = await shared.take(session, facts, limits);
    const deadline = performance.now() + MAKE_ROOM_MS;
    while (found && taken.outcome === "refused" && performance.now() < deadline && session.state === "checking") {
      await new Promise((resolve) => setTimeout(resolve, MAKE_ROOM_RETRY_MS));
      taken = await shared.take(session, facts, limits);
    }
    return taken;
  }

  #membersOf(limit: LimitKey): SessionFilter {
    if (limit.kind === "user") return { state: "playing", userId: limit.value };
    if (limit.kind === "ip") return { state: "playing", ip: limit.value };
    const slash = limit.value.indexOf("/");
    return { state: "playing", app: limit.value.slice(0, slash), channel: limit.value.slice(slash + 1) };
  }

  /**
   * What `admit` would do with a newcomer, changing nothing: each limit that applies, its count on this
   * edge and whether the newcomer fits, would be refused or would close the oldest. With a cluster the
   * counts are this edge's own (the shared slots are not read: taking one is the only way to ask).
   */
  preview(subject: LimitSubject, identity: SessionIdentity | undefined): { refusal: string | null; limits: LimitPreview[] } {
    let refusal: string | null = null;
    const limits = this.#limitsFor(subject, identity).map((limit): LimitPreview => {
      const playing = this.#store.count(limit.members);
      const excess = playing - limit.max + 1;
      const base = { kind: limit.kind, what: limit.what, max: limit.max, playing };
      if (excess <= 0) return { ...base, outcome: "room" };
      if (this.#policy === "reject-new") {
        refusal ??= `${limit.what} is at the limit of ${limit.max} session(s)`;
        return { ...base, outcome: "refuse" };
      }
      const wouldClose = this.#store.query(limit.members, { limit: excess }).sessions.map((session) => session.id);
      return { ...base, outcome: "close-oldest", wouldClose };
    });
    return { refusal, limits };
  }

  /** Counts in this process and admits, with no await in between. */
  #admitHere(session: ViewerSession, facts: SessionGrantFacts): LimitOutcome {
    for (const limit of this.#limitsFor(session, facts.identity)) {
      // The newcomer is still checking, so it is not among the playing sessions counted here.
      const excess = this.#store.count(limit.members) - limit.max + 1;
      if (excess <= 0) continue;
      if (this.#policy === "reject-new") return { admitted: false, reason: `${limit.what} is at the limit of ${limit.max} session(s)` };
      for (const oldest of this.#store.query(limit.members, { limit: excess }).sessions) this.#store.close(oldest, "limit");
    }
    this.#store.admit(session, facts);
    return { admitted: true };
  }

  #limitsFor(session: LimitSubject, identity: SessionIdentity | undefined): Limit[] {
    const limits: Limit[] = [];
    const userId = identity?.userId;
    if (userId !== undefined && identity?.maxSessions !== undefined) {
      limits.push({
        kind: "user",
        value: userId,
        what: `user ${userId}`,
        max: identity.maxSessions,
        members: { state: "playing", userId },
      });
    }
    if (this.#caps.maxPerIp > 0) {
      limits.push({
        kind: "ip",
        value: session.ip,
        what: `address ${session.ip}`,
        max: this.#caps.maxPerIp,
        members: { state: "playing", ip: session.ip },
      });
    }
    if (this.#caps.maxPerChannel > 0) {
      const channel = `${session.app}/${session.channel}`;
      limits.push({
        kind: "channel",
        value: channel,
        what: `channel ${channel}`,
        max: this.#caps.maxPerChannel,
        members: { state: "playing", app: session.app, channel: session.channel },
      });
    }
    return limits;
  }
}
