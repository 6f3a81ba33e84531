import type { SessionIdentity } from "../chain/decision.js";
import type { LimitPolicy } from "../config/sessions-schema.js";
import type { SessionRegistry } from "./session-registry.js";
import type { ViewerSession } from "./viewer-session.js";

/** Optional caps besides the per-user limit; 0 means no cap. */
export interface SessionCaps {
  maxPerIp: number;
  maxPerChannel: number;
}

/** One limit that applies to a newcomer: which sessions it counts and how many may play. */
interface Limit {
  what: string;
  max: number;
  members: (s: ViewerSession) => boolean;
}

/**
 * Enforces "at most N sessions" across every protocol: per user (built-in limit, backend
 * `X-Max-Sessions` per `X-UserId`), and optionally per viewer address and per channel. Runs
 * synchronously right before a session starts playing, so two viewers joining at once cannot both
 * slip under a limit. The policy refuses the newcomer or closes the oldest sessions to make room.
 */
export class SessionLimiter {
  readonly #registry: SessionRegistry;
  #policy: LimitPolicy;
  #caps: SessionCaps;

  constructor(registry: SessionRegistry, policy: LimitPolicy, caps: SessionCaps = { maxPerIp: 0, maxPerChannel: 0 }) {
    this.#registry = registry;
    this.#policy = policy;
    this.#caps = caps;
  }

  /** Changes the policy and caps for the viewers who join from now on (a configuration reload). */
  configure(policy: LimitPolicy, caps: SessionCaps): void {
    this.#policy = policy;
    this.#caps = caps;
  }

  /** Admits the session as playing under its identity, or returns the reason it may not play. */
  admit(session: ViewerSession, identity: SessionIdentity | undefined): { admitted: true } | { admitted: false; reason: string } {
    const limits = this.#limitsFor(session, identity);
    if (limits.length > 0) {
      const playing = this.#registry.list().filter((s) => s.state === "playing" && s !== session).sort((a, b) => a.startedAt - b.startedAt);
      for (const limit of limits) {
        const others = playing.filter((s) => s.state === "playing" && limit.members(s));
        const excess = others.length - limit.max + 1;
        if (excess <= 0) continue;
        if (this.#policy === "reject-new") return { admitted: false, reason: `${limit.what} is at the limit of ${limit.max} session(s)` };
        for (const oldest of others.slice(0, excess)) this.#registry.close(oldest, "limit");
      }
    }
    session.identity = identity;
    this.#registry.markPlaying(session);
    return { admitted: true };
  }

  #limitsFor(session: ViewerSession, identity: SessionIdentity | undefined): Limit[] {
    const limits: Limit[] = [];
    const userId = identity?.userId;
    if (userId !== undefined && identity?.maxSessions !== undefined) {
      limits.push({ what: `user ${userId}`, max: identity.maxSessions, members: (s) => s.identity?.userId === userId });
    }
    if (this.#caps.maxPerIp > 0) {
      limits.push({ what: `address ${session.ip}`, max: this.#caps.maxPerIp, members: (s) => s.ip === session.ip });
    }
    if (this.#caps.maxPerChannel > 0) {
      limits.push({ what: `channel ${session.app}/${session.channel}`, max: this.#caps.maxPerChannel, members: (s) => s.app === session.app && s.channel === session.channel });
    }
    return limits;
  }
}
