/**
 * The names of the chain's steps, in the order they run (docs/protocols.md §1), plus the chain's own default.
 * `revoked` refuses what an operator revoked (credentials, addresses; users on a later step's allow).
 * `custom` are authorizers an operator passes in code; they run after securetoken, before the backend.
 * `geo` (country and network rules) and `origin` (the embedding site) refuse before any credential is read.
 */
export const STEP_NAMES = [
  "internal",
  "revoked",
  "ip-deny",
  "ip-allow",
  "geo",
  "origin",
  "users",
  "jwt",
  "securetoken",
  "custom",
  "backend",
  "default",
] as const;
export type StepName = (typeof STEP_NAMES)[number];

/**
 * What one step says: decide now (allow or deny) or pass to the next step. `detail` is what an audit
 * line says beyond `reason` (never a secret): a publish step's `reason` is a closed label that names a
 * metric, its `detail` the specifics. The play chain does not read it.
 */
export type StepVerdict =
  | {
      readonly verdict: "allow";
      readonly reason: string;
      readonly detail?: string;
      readonly user?: SessionIdentity;
      readonly ttlSec?: number;
      readonly validUntilMs?: number;
      readonly uses?: UsesBound;
    }
  | {
      readonly verdict: "deny";
      readonly reason: string;
      readonly detail?: string;
      readonly redirectUrl?: string;
      /** A closed label naming the rule that refused (`jwt-expired`, `country-denied`, …), for metrics. */
      readonly code?: RefusalCode;
      /** What the rule decided on, bounded (a country code, an ASN), for metrics; never a credential. */
      readonly subject?: string;
    }
  | { readonly verdict: "pass" };

/**
 * A credential that may start only so many sessions: the one in the query parameter `param` (a signed
 * link with `maxUses`) starts at most `max` sessions until `untilMs` (its end, ms since the epoch), when its
 * count is forgotten. The admission counts a use only for a session that goes on to play.
 */
export interface UsesBound {
  readonly param: string;
  readonly max: number;
  readonly untilMs: number;
}

/** Who the viewer is, when a step knows: used to name sessions and count limits. */
export interface SessionIdentity {
  /** Session name shown in lists and statistics (a login, or a backend's `X-Session-Name`). */
  readonly name?: string;
  /** The user the session belongs to (built-in user login or backend `X-UserId`). */
  readonly userId?: string;
  /** At most this many live sessions for `userId` (built-in connection limit, backend `X-Max-Sessions`). */
  readonly maxSessions?: number;
}

/** The chain's final word: always allow or deny, with the step that decided and how long it took. */
export type Decision =
  | {
      readonly verdict: "allow";
      readonly step: StepName;
      readonly reason: string;
      readonly latencyMs: number;
      readonly user?: SessionIdentity;
      /** How long the allow holds before the session is re-checked (a backend's `X-AuthDuration`). */
      readonly ttlSec?: number;
      /**
       * When the credential that allowed the session ends (a signed link's end, a user's `expires`, a
       * token's `exp`), ms since the epoch: the session is closed as `expired` then, unless a re-check
       * renewed it. Undefined: the credential does not end.
       */
      readonly validUntilMs?: number;
      /** How many sessions the credential may start (a signed link's `maxUses`). */
      readonly uses?: UsesBound;
    }
  | {
      readonly verdict: "deny";
      readonly step: StepName;
      readonly reason: string;
      readonly latencyMs: number;
      readonly redirectUrl?: string;
      /** The refusing rule's closed label, when the step gives one (see `RefusalCode`). */
      readonly code?: RefusalCode;
      /** What that rule decided on (a country code, an ASN), when it says. */
      readonly subject?: string;
      /** The identity a step's allow named before a later check vetoed it (a revoked user): the refusal is an identified one. */
      readonly user?: SessionIdentity;
    };

/**
 * The closed labels of the rules that name their refusals (`va_rule_refusals_total{reason}`, the
 * `code` of an `auth.decision` line): the JWT step's, the origin lock's and the country and network rules'.
 */
export const REFUSAL_CODES = [
  "jwt-malformed",
  "jwt-alg",
  "jwt-bad-signature",
  "jwt-unknown-kid",
  "jwt-keys-unavailable",
  "jwt-expired",
  "jwt-not-yet-valid",
  "jwt-issuer",
  "jwt-audience",
  "jwt-claims",
  "jwt-channel",
  "origin-not-allowed",
  "country-denied",
  "country-not-allowed",
  "asn-denied",
] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];

export const PASS: StepVerdict = Object.freeze({ verdict: "pass" });

/** What an allow may say beyond who and for how long: the credential's end and its number of uses. */
export interface AllowLimits {
  readonly validUntilMs?: number | undefined;
  readonly uses?: UsesBound | undefined;
}

export function allow(reason: string, user?: SessionIdentity, ttlSec?: number, limits: AllowLimits = {}): StepVerdict {
  return {
    verdict: "allow",
    reason,
    ...(user !== undefined ? { user } : {}),
    ...(ttlSec !== undefined ? { ttlSec } : {}),
    ...(limits.validUntilMs !== undefined ? { validUntilMs: limits.validUntilMs } : {}),
    ...(limits.uses !== undefined ? { uses: limits.uses } : {}),
  };
}

export function deny(reason: string, redirectUrl?: string): StepVerdict {
  return redirectUrl === undefined ? { verdict: "deny", reason } : { verdict: "deny", reason, redirectUrl };
}

/** A rule's refusal: the reason reads `<code>: <specifics>`, and `code` (with `subject`, if any) labels the metric. */
export function denyWith(code: RefusalCode, specifics: string, subject?: string): StepVerdict {
  return { verdict: "deny", reason: `${code}: ${specifics}`, code, ...(subject !== undefined ? { subject } : {}) };
}
