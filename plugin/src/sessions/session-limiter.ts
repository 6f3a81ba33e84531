import type { SessionIdentity } from "../chain/decision.js";
import type { LimitPolicy } from "../config/sessions-schema.js";
import type { SessionRegistry } from "./session-registry.js";
import type { ViewerSession } from "./viewer-session.js";

/**
 * Enforces "at most N sessions per user" across every protocol, for built-in users and backend
 * `X-Max-Sessions` alike. Runs synchronously right before a session starts playing, so two viewers
 * joining at once cannot both slip under the limit.
 */
export class SessionLimiter {
  readonly #registry: SessionRegistry;
  readonly #policy: LimitPolicy;

  constructor(registry: SessionRegistry, policy: LimitPolicy) {
    this.#registry = registry;
    this.#policy = policy;
  }

  /**
   * Admits the session as playing under its identity, or returns the reason it may not play. With
   * `close-oldest`, the user's oldest sessions are closed to make room.
   */
  admit(session: ViewerSession, identity: SessionIdentity | undefined): { admitted: true } | { admitted: false; reason: string } {
    const userId = identity?.userId;
    const max = identity?.maxSessions;
    if (userId !== undefined && max !== undefined) {
      const others = this.#registry.playingOfUser(userId).filter((s) => s !== session);
      const excess = others.length - max + 1;
      if (excess > 0) {
        if (this.#policy === "reject-new") return { admitted: false, reason: `user ${userId} is at the limit of ${max} session(s)` };
        for (const oldest of others.slice(0, excess)) this.#registry.close(oldest, "limit");
      }
    }
    session.identity = identity;
    this.#registry.markPlaying(session);
    return { admitted: true };
  }
}
