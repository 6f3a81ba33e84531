import {
  decodeProtectedHeader,
  errors,
  jwtVerify,
  UnsecuredJWT,
  type JWTPayload,
  type JWTVerifyOptions,
  type ProtectedHeaderParameters,
} from "jose";
import type { BackendDispatcher } from "../backend/backend-transport.js";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/log.js";
import type { Authorizer } from "../core/authorizer.js";
import type { AuthRequest } from "../core/auth-request.js";
import type { BruteForceThrottle } from "../brute-force/brute-force-throttle.js";
import { allow, denyWith, PASS, type RefusalCode, type SessionIdentity, type StepVerdict } from "../core/decision.js";
import type { JwtConfig } from "./jwt-schema.js";
import { JwksKeys, type VerifyKey } from "./jwks-keys.js";
import { grantsByClaims, type Packages } from "./jwt-grants.js";
import { HmacSecrets } from "./hmac-secrets.js";

/** Three base64url parts (the third empty for `alg: none`, which is then refused by name). */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** HMAC algorithms: verified with `auth.jwt.secrets` only. */
export const HS_ALGORITHMS = ["HS256", "HS384", "HS512"] as const;
/** Public-key algorithms: verified with keys of `auth.jwt.jwksUrl` only. */
export const PUBLIC_KEY_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
] as const;
const HS: ReadonlySet<string> = new Set(HS_ALGORITHMS);
const PUBLIC: ReadonlySet<string> = new Set(PUBLIC_KEY_ALGORITHMS);

/**
 * Refusals that mean the token was not made with our keys (or is no token at all): counted by the
 * brute-force throttle like a forged signed link. An authentic token that ran out or names another
 * audience is not a guess and is not counted.
 */
const COUNTED: ReadonlySet<RefusalCode> = new Set<RefusalCode>(["jwt-malformed", "jwt-alg", "jwt-bad-signature", "jwt-unknown-kid"]);

/** What the JWT step needs besides its section. */
export interface JwtAuthorizerParts {
  clock: Clock;
  log: Logger;
  /** Counts forged tokens; undefined when `auth.bruteForce.enabled` is false. */
  throttle: BruteForceThrottle | undefined;
  /** `auth.packages`, read on each token (a reload may change it). */
  packages: () => Packages;
  /** The network edge the key set is fetched through (the backend's pool in tests); undici's global one when omitted. */
  dispatcher?: BackendDispatcher | undefined;
}

/** A refusal before it is turned into a verdict. */
interface Refusal {
  code: RefusalCode;
  specifics: string;
}

/**
 * The JWT step (docs/jwt.md), after built-in users and before securetoken.
 *
 * - The parameter is absent, or its value has not the JWT shape: pass (a user token, a signed link).
 * - HS256/384/512 tokens are verified with each of `secrets` (rotation); RS/PS/ES/EdDSA tokens with the
 *   key set of `jwksUrl`. An HS token with no secrets configured, a public-key token with no `jwksUrl`,
 *   `alg: none` and any other algorithm are refused (`jwt-alg`): a public key is never used as an HMAC
 *   secret, and jose is given only the algorithms of the key's family.
 * - `exp`, `nbf` (with `clockSkewSec`, on the injected clock), `iss` and `aud` (when configured) are checked.
 * - The channel must be in the channels claim (`*` for all) or in a package of the packages claim.
 * - Allow: the user claim names the session, the max-sessions claim sets its limit, `exp` +
 *   `clockSkewSec` is the decision's `validUntilMs` (the session is cut then).
 * Each refusal is `<code>: <specifics>` with a closed code (`jwt-expired`, `jwt-bad-signature`, …);
 * forged tokens count as failed credentials.
 */
export function createJwtAuthorizer(config: JwtConfig, parts: JwtAuthorizerParts): Authorizer {
  const { clock, throttle } = parts;
  const secrets = new HmacSecrets(config.secrets);
  const jwks = config.jwksUrl === null ? undefined : new JwksKeys(config.jwksUrl, parts);
  const baseOptions: JWTVerifyOptions = {
    clockTolerance: config.clockSkewSec,
    ...(config.issuer !== null ? { issuer: config.issuer } : {}),
    ...(config.audience !== null ? { audience: config.audience } : {}),
  };

  function refuse(request: AuthRequest, refusal: Refusal): StepVerdict {
    if (COUNTED.has(refusal.code)) throttle?.countFailure(request);
    return denyWith(refusal.code, refusal.specifics);
  }

  function verify(request: AuthRequest, token: string): StepVerdict | Promise<StepVerdict> {
    const header = headerOf(token);
    const algorithm = algorithmOf(header);
    if (typeof algorithm !== "string") return refuse(request, algorithm);
    if (!hasCanonicalSignature(token))
      return refuse(request, { code: "jwt-malformed", specifics: "the signature is not in canonical base64url" });
    const options: JWTVerifyOptions = { ...baseOptions, currentDate: new Date(clock.now()) };
    if (HS.has(algorithm)) {
      if (secrets.size === 0) return refuse(request, { code: "jwt-alg", specifics: `${algorithm} is not accepted: no auth.jwt.secrets` });
      if (header!.crit !== undefined)
        return refuse(request, { code: "jwt-malformed", specifics: "crit header parameters are not supported" });
      if (!secrets.verify(token, algorithm))
        return refuse(request, { code: "jwt-bad-signature", specifics: "the signature matches no secret" });
      const claims = checkClaims(token, options);
      return "code" in claims ? refuse(request, claims) : admit(request, claims.payload);
    }
    if (PUBLIC.has(algorithm)) {
      if (jwks === undefined) return refuse(request, { code: "jwt-alg", specifics: `${algorithm} is not accepted: no auth.jwt.jwksUrl` });
      return verifyByKeySet(request, token, { ...header, alg: algorithm }, options, jwks);
    }
    return refuse(request, { code: "jwt-alg", specifics: `algorithm ${JSON.stringify(algorithm.slice(0, 16))} is not accepted` });
  }

  async function verifyByKeySet(
    request: AuthRequest,
    token: string,
    header: ProtectedHeaderParameters & { alg: string },
    options: JWTVerifyOptions,
    keySet: JwksKeys,
  ): Promise<StepVerdict> {
    const keys = await keySet.getKeys(header, { payload: "", signature: "" });
    if (keys === "unknown-kid")
      return refuse(request, { code: "jwt-unknown-kid", specifics: "no key of the JWKS matches the token's kid and alg" });
    if (keys === "unavailable") return refuse(request, { code: "jwt-keys-unavailable", specifics: "the JWKS could not be fetched" });
    let verified: { payload: JWTPayload } | Refusal = { code: "jwt-bad-signature", specifics: "the signature does not verify" };
    // Several candidates only for a token without a kid: the first key its signature verifies under decides.
    for (const key of keys) {
      verified = await verifyWith(token, key, { ...options, algorithms: [...PUBLIC_KEY_ALGORITHMS] });
      if (!("code" in verified) || verified.code !== "jwt-bad-signature") break;
    }
    return "code" in verified ? refuse(request, verified) : admit(request, verified.payload);
  }

  function admit(request: AuthRequest, payload: JWTPayload): StepVerdict {
    const grants = grantsByClaims(payload, config, parts.packages(), request.channel);
    if (grants !== true) return refuse(request, grants);
    const user = payload[config.userClaim];
    const limit = payload[config.maxConnectionsClaim];
    if (user !== undefined && (typeof user !== "string" || user === "" || user.length > 256))
      return refuse(request, { code: "jwt-claims", specifics: `claim ${config.userClaim} is not a non-empty string` });
    if (limit !== undefined && (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1))
      return refuse(request, { code: "jwt-claims", specifics: `claim ${config.maxConnectionsClaim} is not a whole number ≥ 1` });
    const identity: SessionIdentity | undefined =
      user === undefined && limit === undefined
        ? undefined
        : { ...(user !== undefined ? { name: user, userId: user } : {}), ...(limit !== undefined ? { maxSessions: limit } : {}) };
    const verdict = allow(
      `jwt${user !== undefined ? ` of "${user}"` : ""}${payload.exp !== undefined ? ` valid until ${isoOf(payload.exp)}` : ""}`,
      identity,
    );
    if (payload.exp === undefined) return verdict;
    // The end as this server honours it (the skew admits a token that far past its exp), as for a signed
    // link: the session is cut then. Cutting at `exp` itself would close at once a session the step had
    // just admitted within the skew, and a re-check would still accept what the cut refused.
    return { ...verdict, validUntilMs: (payload.exp + config.clockSkewSec) * 1000 } as StepVerdict;
  }

  return {
    name: "jwt",
    decide: function jwt(request: AuthRequest): StepVerdict | Promise<StepVerdict> {
      const token = request.params.get(config.param);
      if (token === null || !JWT_SHAPE.test(token)) return PASS;
      const banned = throttle?.refusal(request);
      if (banned !== undefined) return banned;
      return verify(request, token);
    },
    start() {
      jwks?.start();
    },
    close: () => jwks?.close(),
  };
}

/** The token's `alg`, or the refusal of a header that is not JSON or names none. */
function algorithmOf(header: ReturnType<typeof decodeProtectedHeader> | undefined): string | Refusal {
  if (header === undefined) return { code: "jwt-malformed", specifics: "the header is not base64url JSON" };
  const alg = header.alg;
  if (typeof alg !== "string" || alg === "" || alg.toLowerCase() === "none")
    return { code: "jwt-alg", specifics: "unsigned token (alg none) refused" };
  return alg;
}

/**
 * Whether the signature part is the one base64url spelling of its bytes. A decoder ignores the unused
 * low bits of the last character, so `…Xw` and `…Xx` can carry one signature: one signature, one
 * spelling, in logs, caches and counts. (A revocation does not rely on it: it keys a JWT by its header
 * and payload, `credentialKey`, since an ECDSA token has a second valid signature anyway.)
 */
function hasCanonicalSignature(token: string): boolean {
  const signature = token.slice(token.lastIndexOf(".") + 1);
  return Buffer.from(signature, "base64url").toString("base64url") === signature;
}

function headerOf(token: string): ReturnType<typeof decodeProtectedHeader> | undefined {
  try {
    return decodeProtectedHeader(token);
  } catch {
    return undefined;
  }
}

/** An `alg: none` header, so that jose's claim validator reads a payload whose signature was checked already. */
const CHECKED_HEADER = Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url");

/**
 * The claims of a token whose HMAC signature `HmacSecrets` verified, validated by jose's own claim
 * checks (`exp`, `nbf`, `iss`, `aud`, clock tolerance, current date): the same code `jwtVerify` runs
 * after a signature. Only ever called after the signature matched a secret.
 */
function checkClaims(token: string, options: JWTVerifyOptions): { payload: JWTPayload } | Refusal {
  const payloadPart = token.slice(token.indexOf(".") + 1, token.lastIndexOf("."));
  try {
    return { payload: UnsecuredJWT.decode(`${CHECKED_HEADER}.${payloadPart}.`, options).payload };
  } catch (error) {
    return refusalOf(error);
  }
}

async function verifyWith(token: string, key: VerifyKey, options: JWTVerifyOptions): Promise<{ payload: JWTPayload } | Refusal> {
  try {
    const { payload } = await jwtVerify(token, key, options);
    return { payload };
  } catch (error) {
    return refusalOf(error);
  }
}

/** jose's error as a refusal; the specifics never carry the token. */
function refusalOf(error: unknown): Refusal {
  if (error instanceof errors.JWTExpired) return { code: "jwt-expired", specifics: `expired at ${isoOf(error.payload.exp)}` };
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case "nbf":
        return { code: "jwt-not-yet-valid", specifics: `not valid before ${isoOf(error.payload.nbf)}` };
      case "iss":
        return { code: "jwt-issuer", specifics: "iss is not the configured issuer" };
      case "aud":
        return { code: "jwt-audience", specifics: "aud does not name the configured audience" };
      default:
        return { code: "jwt-claims", specifics: `claim ${error.claim} is invalid (${error.reason})` };
    }
  }
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return { code: "jwt-bad-signature", specifics: "the signature does not verify" };
  if (error instanceof errors.JOSEAlgNotAllowed) return { code: "jwt-alg", specifics: "the algorithm is not accepted for this key" };
  if (error instanceof errors.JWTInvalid || error instanceof errors.JWSInvalid)
    return { code: "jwt-malformed", specifics: "not a well-formed JWT" };
  if (error instanceof errors.JOSEError) return { code: "jwt-malformed", specifics: `rejected (${error.code})` };
  throw error;
}

function isoOf(unixSec: unknown): string {
  if (typeof unixSec !== "number") return "?";
  const date = new Date(unixSec * 1000);
  return Number.isNaN(date.getTime()) ? String(unixSec) : date.toISOString();
}
