import type { SessionIdentity } from "../core/decision.js";
import type { SessionStore } from "../core/session-store.js";
import type { ViewerSession } from "../core/viewer-session.js";

/** What the backend granted one session: until when, and to whom. */
export interface SessionGrant {
  /** End of the backend's allow (its X-AuthDuration, or the configured TTL), ms since the epoch. */
  readonly until: number;
  readonly user: SessionIdentity | undefined;
}

/**
 * SessionGrants remembers, per live session, the backend's latest allow: re-checks use it to keep a
 * Ministra grant whose token cannot be re-validated, and to ride out a failing backend
 * (stale-if-error). Entries go when their session ends, so the map never outgrows the live sessions.
 */
export class SessionGrants {
  readonly #grants = new Map<string, SessionGrant>();
  readonly #registry: SessionStore;
  readonly #unsubscribe: () => void;

  constructor(registry: SessionStore) {
    this.#registry = registry;
    this.#unsubscribe = registry.subscribe("ended", (session: ViewerSession) => this.#grants.delete(session.id));
  }

  get(sessionId: string): SessionGrant | undefined {
    return this.#grants.get(sessionId);
  }

  /** Records an allow for a session that is still live (a viewer who left gets no entry). */
  set(sessionId: string, grant: SessionGrant): void {
    if (this.#registry.get(sessionId) !== undefined) this.#grants.set(sessionId, grant);
  }

  delete(sessionId: string): void {
    this.#grants.delete(sessionId);
  }

  close(): void {
    this.#unsubscribe();
    this.#grants.clear();
  }
}
