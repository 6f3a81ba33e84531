import { createHash } from "node:crypto";
import { SECURETOKEN_FORMAT_BY_NAME } from "../securetoken/securetoken-formats.js";

/** The query parameters that carry a viewer's credential: a token (user, signed link, backend), an nms `sign`, a login. */
export const CREDENTIAL_PARAMS = ["token", "sign", "auth"] as const;
export type CredentialParam = (typeof CREDENTIAL_PARAMS)[number];

/** A JWT's shape (three base64url parts, the signature's possibly empty), as the JWT step recognises one. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** How many rounds of percent-decoding an opaque token gets: more than any backend applies. */
const DECODE_ROUNDS = 4;

/**
 * The one key a credential is known by once revoked, whatever its spelling: the SHA-256 (base64url) of
 * its identity, so the credential itself is never kept. Admission, the key a session records (for
 * close-on-revoke, also in the Redis mirror), the revoke and lift API and the console all use it.
 *
 * Identities, by kind:
 * - `auth=login:password`: the login, exactly (the users step looks logins up exactly and decides on
 *   every `auth`, so another spelling is another, unauthenticated login; the password is no part of it).
 * - a signed link (Astra/Flussonic token or nms `sign`, in `?token=` or `?sign=` alike): its hash in lower
 *   case, recognised as loosely as the securetoken step recognises one, so no re-spelling of the times,
 *   case or parameter name makes it another credential.
 * - a JWT (three base64url parts, the shape the JWT step decides on): its header and payload, without
 *   the signature, decoded and lower-cased as any other token (a backend given a JWT-shaped opaque token
 *   may fold them too). The signature covers exactly that text, so no other spelling of it verifies; but
 *   one header and payload can carry several valid signatures (an ECDSA signature (r, s) is as valid as
 *   (r, n−s)): keyed by its signature, a revoked token would come back under another.
 * - any other token (a built-in user's, or an opaque token a backend accepts): percent-decoded until it
 *   no longer changes, `+` read as a space, trimmed and lower-cased. A backend may decode again, trim or
 *   compare without case; we cannot know, so the key folds all of these: a re-spelling a backend would
 *   take for the same token is the same key. The price is that two tokens differing only in case or
 *   encoding are revoked together, which for random tokens never happens by accident.
 * The kinds are kept apart by a prefix no decoded query value can forge into another kind's identity
 * without it already being that credential.
 */
export function credentialKey(param: CredentialParam, value: string): string | null {
  const identity = credentialIdentity(param, value);
  return identity === null ? null : createHash("sha256").update(identity, "utf8").digest("base64url");
}

/**
 * Every credential a request's query carries: each value of each credential parameter, its name
 * matched without case (our steps read `token`, but a backend may read `TOKEN` too).
 */
function credentialsOf(params: URLSearchParams): [CredentialParam, string][] {
  const out: [CredentialParam, string][] = [];
  for (const [name, value] of params) {
    const param = CREDENTIAL_PARAMS.find((p) => p === name.toLowerCase());
    if (param !== undefined) out.push([param, value]);
  }
  return out;
}

/** The keys of every credential a request's query carries, without repeats: a request is refused when any of them is revoked. */
export function credentialKeysOf(params: URLSearchParams): string[] {
  const keys = new Set<string>();
  for (const [param, value] of credentialsOf(params)) {
    const key = credentialKey(param, value);
    if (key !== null) keys.add(key);
  }
  return keys.size === 0 ? [] : [...keys];
}

/**
 * The credential parameter a query gives more than once with different values (names compared
 * without case), or undefined. Steps read the first value (URLSearchParams.get) while a backend may
 * read the last, so such a request could be checked with one credential and admitted with another
 * (`?token=x&token=REVOKED`): it is refused outright. The same value twice is harmless and let through.
 */
export function repeatedCredentialParam(params: URLSearchParams): CredentialParam | undefined {
  const seen = new Map<CredentialParam, string>();
  for (const [param, value] of credentialsOf(params)) {
    const first = seen.get(param);
    if (first === undefined) seen.set(param, value);
    else if (first !== value) return param;
  }
  return undefined;
}

/**
 * The key a credential given to the revoke API is stored under. Takes the bare value (as the viewer's
 * parameter holds it, in any spelling), a `name=value` pair (`token=…`, `sign=…`, `auth=login:…`),
 * a query (`?sign=…`) or a whole link; null when it names no credential.
 */
export function credentialKeyOfGiven(given: string): string | null {
  const text = given.trim();
  const query = queryPart(text);
  if (query !== undefined) {
    const params = new URLSearchParams(query);
    const named = CREDENTIAL_PARAMS.find((param) => params.has(param));
    if (named !== undefined) return credentialKey(named, params.get(named)!);
  }
  return credentialKey("token", given);
}

/** The query of a link or of a `name=value` text whose name is a credential parameter, else undefined. */
function queryPart(text: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    try {
      return new URL(text).search.slice(1);
    } catch {
      return undefined;
    }
  }
  const bare = text.startsWith("?") ? text.slice(1) : text;
  return CREDENTIAL_PARAMS.some((param) => bare.toLowerCase().startsWith(`${param}=`))
    ? bare.replace(/^[a-z]+=/i, (m) => m.toLowerCase())
    : undefined;
}

function credentialIdentity(param: CredentialParam, value: string): string | null {
  if (param === "auth") {
    const colon = value.indexOf(":");
    const login = colon === -1 ? value : value.slice(0, colon);
    return login === "" ? null : `\u0000login\u0000${login}`;
  }
  const decoded = decodeFully(value).replace(/\+/g, " ").trim();
  if (decoded === "") return null;
  const link = signedLinkHash(decoded);
  if (link !== null) return `\u0000signed-link\u0000${link}`;
  if (JWT_SHAPE.test(decoded)) return `\u0000jwt\u0000${decoded.slice(0, decoded.lastIndexOf(".")).toLowerCase()}`;
  return `\u0000token\u0000${decoded.toLowerCase()}`;
}

/** The lower-case hash of a value that looks like any signed-link format, or null. */
function signedLinkHash(value: string): string | null {
  return (
    SECURETOKEN_FORMAT_BY_NAME.astra.identify(value) ??
    SECURETOKEN_FORMAT_BY_NAME.flussonic.identify(value) ??
    SECURETOKEN_FORMAT_BY_NAME.nms.identify(value)
  );
}

function decodeFully(value: string): string {
  let text = value;
  for (let round = 0; round < DECODE_ROUNDS; round++) {
    let next: string;
    try {
      next = decodeURIComponent(text);
    } catch {
      return text;
    }
    if (next === text) return text;
    text = next;
  }
  return text;
}
