import type { AuthRequest } from "../core/auth-request.js";
import type { Clock } from "../core/clock.js";
import type { RevocationKind } from "../core/cluster-seams.js";
import type { SessionIdentity } from "../core/decision.js";
import { credentialKeysOf } from "./credential-key.js";

/** One revocation in force: what it is about (a credential only as its key, `credentialKey`) and until when (ms since the epoch). */
export interface Revocation {
  kind: RevocationKind;
  key: string;
  untilMs: number;
}

/**
 * RevocationList holds the credentials (kind `token`), users and addresses an operator revoked: each
 * stays refused until its time runs out or the revocation is lifted, whichever comes first, not only the
 * sessions live when it was made. Credentials are kept as their canonical keys (`credentialKey`: a
 * digest of the credential's identity, the same for every spelling), so a lookup compares keys (no
 * secret is compared or kept).
 * On several edges every edge holds the same list (the cluster layer feeds it from Redis).
 */
export class RevocationList {
  readonly #entries = new Map<string, Revocation>();
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Puts a revocation in force (replacing an older one for the same key). */
  add(revocation: Revocation): void {
    if (revocation.untilMs <= this.#clock.now()) return;
    this.#entries.set(entryKey(revocation.kind, revocation.key), { ...revocation });
  }

  /** Lifts a revocation; true when one was in force. */
  lift(kind: RevocationKind, key: string): boolean {
    const id = entryKey(kind, key);
    const inForce = this.#live(id) !== undefined;
    this.#entries.delete(id);
    return inForce;
  }

  /**
   * Why this request may not play because a credential it carries (`?token=`, `?sign=`, `?auth=`, in any
   * spelling, every value) is revoked, or null. The chain's `revoked` step asks it first (no backend call for it).
   */
  refusalOfCredential(request: AuthRequest): string | null {
    if (this.#entries.size === 0) return null;
    for (const key of credentialKeysOf(request.params)) {
      if (this.#live(entryKey("token", key)) !== undefined) return "the token is revoked";
    }
    return null;
  }

  /** Why this request's address is revoked, or null (the `revoked` step asks it up front). */
  refusalOfAddress(request: AuthRequest): string | null {
    if (this.#entries.size === 0) return null;
    return this.#live(entryKey("ip", request.ip)) === undefined ? null : `address ${request.ip} is revoked`;
  }

  /** Why the identity an allow named (its user id or session name) is revoked, or null. */
  refusalOfIdentity(identity: SessionIdentity | undefined): string | null {
    if (this.#entries.size === 0) return null;
    for (const user of [identity?.userId, identity?.name]) {
      if (user !== undefined && this.#live(entryKey("user", user)) !== undefined) return `user ${user} is revoked`;
    }
    return null;
  }

  /** Why an allowed viewer may not play: its address, user id or session name is revoked, or null. */
  refusalOfViewer(request: AuthRequest, identity: SessionIdentity | undefined): string | null {
    return this.refusalOfAddress(request) ?? this.refusalOfIdentity(identity);
  }

  /** The revocations in force, soonest to lapse first (credentials as keys). */
  list(): Revocation[] {
    const now = this.#clock.now();
    const out: Revocation[] = [];
    for (const [id, entry] of this.#entries) {
      if (entry.untilMs > now) out.push({ ...entry });
      else this.#entries.delete(id);
    }
    return out.sort((a, b) => a.untilMs - b.untilMs);
  }

  /** Forgets every revocation (a shared list is loaded again from Redis after a reconnect). */
  replaceAll(revocations: readonly Revocation[]): void {
    this.#entries.clear();
    for (const r of revocations) this.add(r);
  }

  #live(id: string): Revocation | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.untilMs > this.#clock.now()) return entry;
    this.#entries.delete(id);
    return undefined;
  }
}

function entryKey(kind: RevocationKind, key: string): string {
  return `${kind}\u0000${key}`;
}
