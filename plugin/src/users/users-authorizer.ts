import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { Clock } from "../core/clock.js";
import { bruteForceSchema } from "../brute-force/brute-force-schema.js";
import { BUSY, PasswordVerifier, type HashWait, type PasswordCheck } from "./password-verifier.js";
import { grantsChannel, type DirectoryUser } from "./user-directory.js";
import type { UserStore } from "./user-store.js";
import type { Authorizer } from "../core/authorizer.js";
import type { AuthRequest } from "../core/auth-request.js";
import { BANNED_REASON, type BruteForceThrottle, type CredentialAttempt } from "../brute-force/brute-force-throttle.js";
import { allow, deny, PASS, type StepVerdict } from "../core/decision.js";
/** The query parameter of a user's token: `?token=T`. */
export const TOKEN_PARAM = "token";
/** The query parameter of a login and password: `?auth=login:password`. */
const AUTH_PARAM = "auth";

/** How long a verified `login:password` pair is remembered, so repeat checks skip scrypt. */
const VERIFIED_PASSWORD_TTL_MS = 60_000;
const VERIFIED_PASSWORD_MAX = 10_000;
/** setTimeout cannot wait longer than 2^31-1 ms; a re-check is never scheduled further out than this. */
const MAX_TTL_SEC = 24 * 86400;

/** What the users step needs besides the users themselves. */
export interface UsersAuthorizerOptions {
  clock: Clock;
  /** Counts failed credentials; undefined when `auth.bruteForce.enabled` is false. */
  throttle: BruteForceThrottle | undefined;
  /** `sessions.recheckIntervalSec`: an expiry sooner than this shortens the session's re-check. */
  recheckIntervalSec: number;
  /**
   * Runs the password hashes, at most `auth.bruteForce.maxConcurrentHashes` at once; one with the
   * default settings when omitted. Closed with the step.
   */
  verifier?: PasswordVerifier | undefined;
  /**
   * Whether a token that is no user's token is a failed credential (denied and counted) rather than
   * passed on: true when no later step could accept it and the chain's default is deny. Asked on every
   * request, since the default action can change on a reload. Omitted: never (unknown tokens pass on).
   */
  unknownTokenFails?: (() => boolean) | undefined;
}

/** The deny reason of a token that is no user's token, when no later step could accept it. */
export const UNKNOWN_TOKEN_REASON = "token matches no user";
/** The deny reason of a password check that got no hash slot in time (not a failed credential). */
export const BUSY_REASON = "password checks are busy; try again (auth.bruteForce.maxConcurrentHashes)";

/**
 * The built-in users step (docs/protocols.md §1 step 3).
 *
 * - No `auth` and no `token` parameter: pass.
 * - `auth=login:password`: decides. Malformed, unknown login, no password or wrong password deny (and
 *   count as failed attempts); a right password goes on to the user checks below.
 * - `token=T`: a token of a user goes on to the user checks; any other token passes on (it may be a
 *   signed link or a middleware token), unless `unknownTokenFails` says no later step could take it:
 *   then it is denied and counted. `auth` wins when both are present.
 * - User checks, in order: enabled, not expired, address bound, channel in the user's packages. The
 *   allow names the user and carries `maxConnections` as the session limit, which SessionLimiter
 *   enforces across protocols.
 *
 * Tokens are looked up by their SHA-256; passwords are checked with scrypt through the
 * PasswordVerifier (a process-wide cap on hashes running at once; busy when none frees in time). An
 * attempt is reserved with the brute-force throttle before it is hashed, so one address runs at most
 * `maxFailures` hashes at a time. A verified pair is cached for a minute (keyed by the SHA-256 of
 * login and password, bound to the user record it verified, so a reload invalidates it); concurrent
 * checks of one pair share one scrypt run. Unknown logins, token-only users and plaintext passwords
 * cost one scrypt too, so that timing does not reveal which logins exist or how they are stored.
 *
 * Memory: the verified cache holds at most 10,000 pairs (only right ones, for a minute); the map of
 * checks in flight one entry per hash running or queued.
 */
export function createUsersAuthorizer(store: UserStore, options: UsersAuthorizerOptions): Authorizer {
  const { clock, throttle, recheckIntervalSec } = options;
  const verifier = options.verifier ?? new PasswordVerifier(bruteForceSchema.parse(undefined), clock);
  const unknownTokenFails = options.unknownTokenFails ?? (() => false);
  const verified = new LRUCache<string, DirectoryUser>({
    max: VERIFIED_PASSWORD_MAX,
    ttl: VERIFIED_PASSWORD_TTL_MS,
    ttlResolution: 0,
    perf: { now: () => clock.now() },
  });
  const inFlight = new Map<string, { user: DirectoryUser | undefined; result: Promise<PasswordCheck> }>();

  function admit(user: DirectoryUser, request: AuthRequest, via: string): StepVerdict {
    const who = `user "${user.login}"`;
    if (!user.enabled) return deny(`${who} is disabled`);
    const now = clock.now();
    if (user.expiresAtMs !== undefined && now >= user.expiresAtMs)
      return deny(`${who} expired at ${new Date(user.expiresAtMs).toISOString()}`);
    if (user.ips !== null && (request.address === null || user.ips.match(request.address) === undefined)) {
      return deny(`address ${request.ip} is not bound to ${who}`);
    }
    if (!grantsChannel(user, request.channel)) return deny(`channel "${request.channel}" is not in the packages of ${who}`);
    const identity = {
      name: user.login,
      userId: user.login,
      ...(user.maxConnections !== undefined ? { maxSessions: user.maxConnections } : {}),
    };
    // The session is closed as `expired` at the user's `expires`, unless a re-check finds it moved.
    return allow(`${who} by ${via}`, identity, ttlUntilExpiry(user, now), { validUntilMs: user.expiresAtMs });
  }

  function ttlUntilExpiry(user: DirectoryUser, now: number): number | undefined {
    if (user.expiresAtMs === undefined) return undefined;
    const untilSec = Math.min(MAX_TTL_SEC, Math.max(1, Math.ceil((user.expiresAtMs - now) / 1000)));
    return recheckIntervalSec === 0 || untilSec < recheckIntervalSec ? untilSec : undefined;
  }

  function fail(request: AuthRequest, reason: string): StepVerdict {
    return throttle === undefined ? deny(reason) : throttle.fail(request, reason);
  }

  function byPassword(request: AuthRequest, auth: string): StepVerdict | Promise<StepVerdict> {
    const colon = auth.indexOf(":");
    if (colon <= 0) return fail(request, "malformed auth parameter (expected login:password)");
    const login = auth.slice(0, colon);
    const password = auth.slice(colon + 1);
    const user = store.directory.byLogin(login);
    const key = pairKey(login, password);
    if (user !== undefined && verified.get(key) === user) return admit(user, request, "password");
    return verifySlowly(request, login, password, user, key);
  }

  async function verifySlowly(
    request: AuthRequest,
    login: string,
    password: string,
    user: DirectoryUser | undefined,
    key: string,
  ): Promise<StepVerdict> {
    const wait: HashWait = request.purpose === "new" ? "bounded" : "unbounded";
    // Viewers of one account reconnecting together (a restart, a shared login) share one scrypt run;
    // joining costs no hash, so it needs no reservation, but a wrong pair still counts as a failure.
    const pending = inFlight.get(key);
    if (pending !== undefined && pending.user === user) {
      let answer = await pending.result;
      // A playing session is never cut because a new viewer's check found the queue full.
      if (answer === BUSY && wait === "unbounded") answer = await verifier.check(password, user?.password, wait);
      return conclude(request, login, user, key, answer, undefined);
    }
    // Counted before hashing: an address at its limit of attempts is refused without any hash.
    const attempt = throttle?.begin(request);
    if (throttle !== undefined && attempt === undefined) return deny(BANNED_REASON);
    const entry = { user, result: verifier.check(password, user?.password, wait) };
    const forget = () => {
      if (inFlight.get(key) === entry) inFlight.delete(key);
    };
    entry.result.then(forget, forget);
    // An explain's hash is its own: no real check joins it (nor would count a failure through it).
    if (request.dryRun === undefined) inFlight.set(key, entry);
    let answer: PasswordCheck;
    try {
      answer = await entry.result;
    } catch (error) {
      attempt?.release();
      throw error;
    }
    return conclude(request, login, user, key, answer, attempt);
  }

  /** Turns a check's answer into the verdict, settling the reserved attempt (if any) exactly once. */
  function conclude(
    request: AuthRequest,
    login: string,
    user: DirectoryUser | undefined,
    key: string,
    answer: PasswordCheck,
    attempt: CredentialAttempt | undefined,
  ): StepVerdict {
    if (answer === BUSY) {
      attempt?.release();
      return deny(BUSY_REASON);
    }
    if (!answer || user === undefined) {
      const reason =
        user === undefined
          ? `unknown login ${JSON.stringify(login.slice(0, 64))}`
          : user.password === undefined
            ? `user "${user.login}" has no password (token only)`
            : `wrong password for user "${user.login}"`;
      return attempt === undefined ? fail(request, reason) : attempt.fail(reason);
    }
    attempt?.release();
    if (request.dryRun === undefined) verified.set(key, user);
    return admit(user, request, "password");
  }

  return {
    name: "users",
    decide: function users(request: AuthRequest): StepVerdict | Promise<StepVerdict> {
      const auth = request.params.get(AUTH_PARAM);
      const token = request.params.get(TOKEN_PARAM);
      if (auth === null && token === null) return PASS;
      const banned = throttle?.refusal(request);
      if (banned !== undefined) return banned;
      if (auth !== null) return byPassword(request, auth);
      const user = store.directory.byToken(token!);
      if (user !== undefined) return admit(user, request, "token");
      return unknownTokenFails() ? fail(request, UNKNOWN_TOKEN_REASON) : PASS;
    },
    close() {
      verifier.close();
      store.close();
    },
  };
}

function pairKey(login: string, password: string): string {
  return createHash("sha256").update(login, "utf8").update("\0").update(password, "utf8").digest("base64");
}
