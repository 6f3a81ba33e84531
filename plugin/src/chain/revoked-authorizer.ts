import type { Authorizer } from "../core/authorizer.js";
import type { AuthRequest } from "../core/auth-request.js";
import { deny, PASS, type SessionIdentity, type StepVerdict } from "../core/decision.js";

/**
 * What the `revoked` step reads: the operator's revocations in force (`sessions/revocation-list.ts`
 * implements it; the list lives a floor above the chain, so the step names only what it asks).
 */
export interface RevocationChecks {
  /** Why a credential the request carries (any spelling, any parameter) is revoked, or null. */
  refusalOfCredential(request: AuthRequest): string | null;
  /** Why the request's address is revoked, or null. */
  refusalOfAddress(request: AuthRequest): string | null;
  /** Why the identity an allow named (user id or session name) is revoked, or null. */
  refusalOfIdentity(identity: SessionIdentity | undefined): string | null;
}

/**
 * The `revoked` step: refuses what an operator revoked (`POST /api/sessions/revoke`, on any edge) until
 * the revocation lapses or is lifted. A revoked credential or address is refused up front, before any
 * backend call or brute-force count; a revoked user id or session name is known only once a later step
 * names it, so the step vetoes that allow (`vetoAllow`) and the chain reports the refusal as this step's.
 * It runs right after `internal`: the server's own processes are never refused by a revocation of the loopback.
 */
export function createRevokedAuthorizer(revocations: RevocationChecks): Authorizer {
  return {
    name: "revoked",
    decide: function revoked(request: AuthRequest): StepVerdict {
      const refusal = revocations.refusalOfCredential(request) ?? revocations.refusalOfAddress(request);
      return refusal === null ? PASS : deny(refusal);
    },
    vetoAllow: (_request, user) => revocations.refusalOfIdentity(user),
  };
}
