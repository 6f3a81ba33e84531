import { timingSafeEqual } from "node:crypto";
import type { LinkSubject, SecureTokenFormat, SignedToken } from "./securetoken-format.js";

/** What a link is checked against: the secrets and the time rules of one `securetoken` section. */
export interface SignedLinkRules {
  readonly secrets: readonly string[];
  readonly clockSkewSec: number;
  readonly maxLifetimeSec: number;
}

/**
 * The outcome of checking one signed link, in the order the checks run:
 * - `forged`: not the canonical spelling, `end < start`, a lifetime over `maxLifetimeSec`, or a hash
 *   that matches no secret. All of these are what an attacker makes (our generator never does), so
 *   callers count them as failed credentials.
 * - `not-yet-valid`, `expired`, `too-far-ahead` (nms `exp` further ahead than the lifetime allows):
 *   authentic but outside its time; only checked when `atSec` is given (a new viewer, not a re-check).
 * - `valid`.
 */
export type SignedLinkCheck =
  | { readonly outcome: "forged"; readonly detail: string }
  | { readonly outcome: "not-yet-valid"; readonly token: SignedToken; readonly startSec: number }
  | { readonly outcome: "expired"; readonly token: SignedToken }
  | { readonly outcome: "too-far-ahead"; readonly token: SignedToken }
  | { readonly outcome: "valid"; readonly token: SignedToken };

/** The `forged` detail of a well-formed link whose hash matches no secret. */
export const HASH_MISMATCH = "the hash matches no secret";

/** Why a canonical token's times cannot be one our generator made, or null when they can. Independent of the clock. */
export function lifetimeProblem(token: Pick<SignedToken, "startSec" | "endSec">, maxLifetimeSec: number): string | null {
  if (token.startSec === undefined) return null;
  if (token.endSec < token.startSec) return "its end lies before its start";
  if (token.endSec - token.startSec > maxLifetimeSec)
    return `it claims a lifetime of ${token.endSec - token.startSec} s, over maxLifetimeSec (${maxLifetimeSec} s)`;
  return null;
}

/**
 * Checks a value the format `identify`s (the caller has decided it is this format's) against a subject.
 * Shape first (canonical spelling and lifetime, no secret needed), then the hash against every secret
 * in constant time without early exit, then, when `atSec` is given, the validity window.
 */
export function checkSignedLink(
  format: SecureTokenFormat,
  value: string,
  subject: LinkSubject,
  rules: SignedLinkRules,
  atSec: number | undefined,
): SignedLinkCheck {
  const token = format.parse(value);
  if (token === null)
    return {
      outcome: "forged",
      detail: `not the canonical ${format.name} spelling (lower-case hex, times in decimal without leading zeros or sign)`,
    };
  const problem = lifetimeProblem(token, rules.maxLifetimeSec);
  if (problem !== null) return { outcome: "forged", detail: problem };
  const given = Buffer.from(token.hash, "hex");
  let matched = false;
  for (const secret of rules.secrets) {
    // No early exit: the time taken does not depend on which secret matched.
    if (timingSafeEqual(Buffer.from(format.digest(token, subject, secret), "hex"), given)) matched = true;
  }
  if (!matched) return { outcome: "forged", detail: HASH_MISMATCH };
  if (atSec !== undefined) {
    const skewSec = rules.clockSkewSec;
    if (token.startSec !== undefined && atSec + skewSec < token.startSec)
      return { outcome: "not-yet-valid", token, startSec: token.startSec };
    if (atSec - skewSec > token.endSec) return { outcome: "expired", token };
    // nms carries no start: bound how far ahead its expiry may lie instead.
    if (token.startSec === undefined && token.endSec > atSec + rules.maxLifetimeSec + skewSec) return { outcome: "too-far-ahead", token };
  }
  return { outcome: "valid", token };
}
