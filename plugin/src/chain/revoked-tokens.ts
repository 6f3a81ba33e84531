import { createHash } from "node:crypto";
import type { Authorizer } from "../core/authorizer.js";
import type { AuthRequest } from "../core/auth-request.js";
import type { Clock } from "../core/clock.js";
import { deny, PASS, type StepVerdict } from "../core/decision.js";
import { TOKEN_PARAM } from "./users-authorizer.js";

/** How many revoked tokens are kept at most; past this the one revoked first is forgotten. */
const MAX_REVOKED = 10_000;

/**
 * RevokedTokens is the operator's in-memory refusal list of `?token=` values (the management API's
 * revoke with `"refuse": true`, the console's "Revoke token"): a token on it is refused by the
 * `revoked` step whoever issued it (a built-in user, a middleware). Only a SHA-256 of each token is
 * kept, so the list holds no credential. It lives until its expiry or a restart.
 */
export class RevokedTokens {
  readonly #clock: Clock;
  /** SHA-256 (hex) of the token → until when it is refused (ms since the epoch). Insertion order = revocation order. */
  readonly #until = new Map<string, number>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Refuses `token` for `seconds` from now. */
  add(token: string, seconds: number): void {
    const key = digest(token);
    this.#until.delete(key);
    this.#until.set(key, this.#clock.now() + seconds * 1000);
    if (this.#until.size > MAX_REVOKED) this.#until.delete(this.#until.keys().next().value!);
  }

  has(token: string): boolean {
    const key = digest(token);
    const until = this.#until.get(key);
    if (until === undefined) return false;
    if (until > this.#clock.now()) return true;
    this.#until.delete(key);
    return false;
  }

  get size(): number {
    return this.#until.size;
  }
}

function digest(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** The `revoked` step: a request whose `?token=` is on the refusal list is denied; anything else passes. */
export function createRevokedTokensAuthorizer(revoked: RevokedTokens): Authorizer {
  return {
    name: "revoked",
    decide: function revokedToken(request: AuthRequest): StepVerdict {
      const token = request.params.get(TOKEN_PARAM);
      return token !== null && revoked.has(token) ? deny("token revoked by the operator") : PASS;
    },
  };
}
