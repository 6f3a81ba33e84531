import { createHash } from "node:crypto";
import type { AuthRequest } from "../core/auth-request.js";
import type { SessionIdentity } from "../core/decision.js";
import type { SessionStore } from "../core/session-store.js";
import type { ViewerSession } from "../core/viewer-session.js";

/** The query parameters that carry a viewer's credential (users: `auth`, `token`; signed links and backends: `token`, `sign`). */
const CREDENTIAL_PARAMS = ["auth", "sign", "token"] as const;

/**
 * UnplayedSessions bounds the HLS sessions one credential holds open from one address without playing:
 * each playlist request without a session key opens a session, so without a bound one valid token could
 * open sessions as fast as it can ask (each one memory, until it idles out, and a statistics entry).
 * A session counts from its admission until it fetches its first segment, or ends. The key is the
 * identity the chain named (user id, else session name), else a digest of the credential parameters,
 * always with the viewer's address: another address with the same credential has its own bound.
 */
export class UnplayedSessions {
  readonly #byCredential = new Map<string, Set<ViewerSession>>();
  readonly #keyOf = new Map<ViewerSession, string>();
  readonly #unsubscribe: () => void;
  #max: number;

  constructor(registry: SessionStore, maxPerViewer: number) {
    this.#max = maxPerViewer;
    this.#unsubscribe = registry.subscribe("ended", (session) => this.played(session));
  }

  /** Sessions held open without playing, all credentials together. */
  get size(): number {
    return this.#keyOf.size;
  }

  /**
   * Counts a newly allowed session against its credential's bound. False (nothing counted) when that
   * credential already holds the bound's number of unplayed sessions from this address; 0 = no bound.
   */
  take(session: ViewerSession, request: AuthRequest, identity: SessionIdentity | undefined): boolean {
    if (this.#max === 0) return true;
    const key = credentialKeyOf(request, identity);
    let held = this.#byCredential.get(key);
    if (held === undefined) this.#byCredential.set(key, (held = new Set()));
    if (held.size >= this.#max) return false;
    held.add(session);
    this.#keyOf.set(session, key);
    return true;
  }

  /** The session fetched media (or ended): it no longer counts. */
  played(session: ViewerSession): void {
    const key = this.#keyOf.get(session);
    if (key === undefined) return;
    this.#keyOf.delete(session);
    const held = this.#byCredential.get(key);
    held?.delete(session);
    if (held?.size === 0) this.#byCredential.delete(key);
  }

  close(): void {
    this.#unsubscribe();
    this.#byCredential.clear();
    this.#keyOf.clear();
  }
}

/**
 * The request's credential with its address, as a digest (no credential is kept as a map key): the
 * identity when a step named one, else the sorted credential parameters' values (none: the address alone).
 */
export function credentialKeyOf(request: AuthRequest, identity: SessionIdentity | undefined): string {
  const who =
    identity?.userId !== undefined
      ? ["user", identity.userId]
      : identity?.name !== undefined
        ? ["name", identity.name]
        : ["params", ...CREDENTIAL_PARAMS.map((p) => request.params.getAll(p))];
  return createHash("sha256")
    .update(JSON.stringify([request.ip, ...who]))
    .digest("base64url");
}
