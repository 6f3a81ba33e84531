import type { SessionIdentity } from "../core/decision.js";
import type { BackendResponse } from "./backend-transport.js";

/**
 * BackendAnswer is what one backend response means, before any cache or session logic:
 * an allow (with who the viewer is and for how long), a deny (maybe with a redirect), or an error
 * (a 5xx: not a verdict, never cached; a re-checked session may ride it out, see staleIfErrorSec).
 */
export type BackendAnswer =
  | {
      readonly kind: "allow";
      readonly reason: string;
      readonly user: SessionIdentity | undefined;
      readonly authDurationSec: number | undefined;
    }
  | {
      readonly kind: "deny";
      readonly reason: string;
      readonly redirectUrl: string | undefined;
      readonly authDurationSec: number | undefined;
    }
  | { readonly kind: "error"; readonly reason: string };

/**
 * The reading of a status every type shares: 200 allows (with the identity headers), a 5xx is an error,
 * anything else denies, redirecting to `redirectUrl` when the type's redirect header gave a non-empty one.
 */
export function answerOfStatus(response: BackendResponse, redirectUrl: string | undefined): BackendAnswer {
  const authDurationSec = authDurationOf(response);
  if (response.status === 200) return { kind: "allow", reason: "backend answered 200", user: identityOf(response), authDurationSec };
  if (response.status >= 500) return { kind: "error", reason: `backend answered ${response.status}` };
  return {
    kind: "deny",
    reason: `backend answered ${response.status}`,
    redirectUrl: redirectUrl === "" ? undefined : redirectUrl,
    authDurationSec,
  };
}

/** The first value of a response header, or undefined. */
export function headerOf(response: BackendResponse, name: string): string | undefined {
  const value = response.headers[name.toLowerCase()];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.trim();
}

/** `X-AuthDuration` in whole seconds; absent or malformed = undefined (the configured TTL applies). */
export function authDurationOf(response: BackendResponse): number | undefined {
  return wholeNumber(headerOf(response, "x-authduration"));
}

/**
 * Who the backend says the viewer is: `X-Session-Name` → name, `X-UserId` → userId,
 * `X-Max-Sessions` → maxSessions, or the deprecated `X-Unique: true` → 1. Undefined when none is set.
 */
export function identityOf(response: BackendResponse): SessionIdentity | undefined {
  const name = nonEmpty(headerOf(response, "x-session-name"));
  const userId = nonEmpty(headerOf(response, "x-userid"));
  const unique = headerOf(response, "x-unique")?.toLowerCase() === "true";
  const maxSessions = wholeNumber(headerOf(response, "x-max-sessions")) ?? (unique ? 1 : undefined);
  if (name === undefined && userId === undefined && maxSessions === undefined) return undefined;
  return {
    ...(name !== undefined ? { name } : {}),
    ...(userId !== undefined ? { userId } : {}),
    ...(maxSessions !== undefined ? { maxSessions } : {}),
  };
}

function wholeNumber(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,9}$/.test(text)) return undefined;
  return Number(text);
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text === "" ? undefined : text;
}
