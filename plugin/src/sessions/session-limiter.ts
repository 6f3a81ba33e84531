import type { SessionIdentity } from "../core/decision.js";
import type { LimitPolicy } from "../config/sessions-schema.js";
import type { SessionFilter, SessionGrantFacts, SessionStore } from "../core/session-store.js";
import type { ViewerSession } from "../core/viewer-session.js";

/** Optional caps besides the per-user limit; 0 means no cap. */
export interface SessionCaps {
  maxPerIp: number;
  maxPerChannel: number;
}

/** One limit that applies to a newcomer: which sessions it counts and how many may play. */
interface Limit {
  what: string;
  max: number;
  members: SessionFilter;
}

/**
 * Enforces "at most N sessions" across every protocol: per user (built-in limit, backend
 * `X-Max-Sessions` per `X-UserId`), and optionally per viewer address and per channel. Runs
 * synchronously right before a session starts playing, so two viewers joining at once cannot both
 * slip under a limit. The policy refuses the newcomer or closes the oldest sessions to make room.
 * Counting is the store's (indexed there), so a limit check costs no scan of the live sessions.
 */
export class SessionLimiter {
  readonly #store: SessionStore;
  #policy: LimitPolicy;
  #caps: SessionCaps;

  constructor(store: SessionStore, policy: LimitPolicy, caps: SessionCaps = { maxPerIp: 0, maxPerChannel: 0 }) {
    this.#store = store;
    this.#policy = policy;
    this.#caps = caps;
  }

  /** Changes the policy and caps for the viewers who join from now on (a configuration reload). */
  configure(policy: LimitPolicy, caps: SessionCaps): void {
    this.#policy = policy;
    this.#caps = caps;
  }

  /** Admits the session as playing under its identity, or returns the reason it may not play. */
  admit(session: ViewerSession, facts: SessionGrantFacts): { admitted: true } | { admitted: false; reason: string } {
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

  #limitsFor(session: ViewerSession, identity: SessionIdentity | undefined): Limit[] {
    const limits: Limit[] = [];
    const userId = identity?.userId;
    if (userId !== undefined && identity?.maxSessions !== undefined) {
      limits.push({ what: `user ${userId}`, max: identity.maxSessions, members: { state: "playing", userId } });
    }
    if (this.#caps.maxPerIp > 0) {
      limits.push({ what: `address ${session.ip}`, max: this.#caps.maxPerIp, members: { state: "playing", ip: session.ip } });
    }
    if (this.#caps.maxPerChannel > 0) {
      limits.push({ what: `channel ${session.app}/${session.channel}`, max: this.#caps.maxPerChannel, members: { state: "playing", app: session.app, channel: session.channel } });
    }
    return limits;
  }
}
