import { createHash, randomBytes } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { Clock } from "../clock.js";
import { verifyPassword, DEFAULT_SCRYPT, type StoredPassword } from "../users/password-hash.js";
import { grantsChannel, type DirectoryUser } from "../users/user-directory.js";
import type { UserStore } from "../users/user-store.js";
import type { Authorizer } from "./authorizer.js";
import type { AuthRequest } from "./auth-request.js";
import type { BruteForceThrottle } from "./brute-force-throttle.js";
import { allow, deny, PASS, type StepVerdict } from "./decision.js";

/** The query parameter of a user's token: `?token=T`. */
export const TOKEN_PARAM = "token";
/** The query parameter of a login and password: `?auth=login:password`. */
export const AUTH_PARAM = "auth";

/** How long a verified `login:password` pair is remembered, so repeat checks skip scrypt. */
export const VERIFIED_PASSWORD_TTL_MS = 60_000;
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
}

/**
 * The built-in users step (protocols.md §1 step 3).
 *
 * - No `auth` and no `token` parameter: pass.
 * - `auth=login:password`: decides. Malformed, unknown login, no password or wrong password deny (and
 *   count as failed attempts); a right password goes on to the user checks below.
 * - `token=T`: a token of a user goes on to the user checks; any other token passes on (it may be a
 *   signed link or a middleware token). `auth` wins when both are present.
 * - User checks, in order: enabled, not expired, address bound, channel in the user's packages. The
 *   allow names the user and carries `maxConnections` as the session limit, which SessionLimiter
 *   enforces across protocols.
 *
 * Tokens are looked up by their SHA-256; passwords are checked with scrypt, and a verified pair is
 * cached for a minute (keyed by the SHA-256 of login and password, bound to the user record it
 * verified, so a reload invalidates it); concurrent checks of one pair share one scrypt run.
 * Unknown logins cost a dummy scrypt so that timing does not reveal which logins exist.
 */
export function createUsersAuthorizer(store: UserStore, options: UsersAuthorizerOptions): Authorizer {
  const { clock, throttle, recheckIntervalSec } = options;
  const verified = new LRUCache<string, DirectoryUser>({
    max: VERIFIED_PASSWORD_MAX, ttl: VERIFIED_PASSWORD_TTL_MS, ttlResolution: 0, perf: { now: () => clock.now() },
  });
  const inFlight = new Map<string, { user: DirectoryUser; result: Promise<boolean> }>();

  function admit(user: DirectoryUser, request: AuthRequest, via: string): StepVerdict {
    const who = `user "${user.login}"`;
    if (!user.enabled) return deny(`${who} is disabled`);
    const now = clock.now();
    if (user.expiresAtMs !== undefined && now >= user.expiresAtMs) return deny(`${who} expired at ${new Date(user.expiresAtMs).toISOString()}`);
    if (user.ips !== null && (request.address === null || user.ips.match(request.address) === undefined)) {
      return deny(`address ${request.ip} is not bound to ${who}`);
    }
    if (!grantsChannel(user, request.channel)) return deny(`channel "${request.channel}" is not in the packages of ${who}`);
    const identity = { name: user.login, userId: user.login, ...(user.maxConnections !== undefined ? { maxSessions: user.maxConnections } : {}) };
    return allow(`${who} by ${via}`, identity, ttlUntilExpiry(user, now));
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

  async function verifySlowly(request: AuthRequest, login: string, password: string, user: DirectoryUser | undefined, key: string): Promise<StepVerdict> {
    if (user === undefined) {
      await verifyPassword(password, DUMMY_PASSWORD);
      return fail(request, `unknown login ${JSON.stringify(login.slice(0, 64))}`);
    }
    if (user.password === undefined) return fail(request, `user "${user.login}" has no password (token only)`);
    // Viewers of one account reconnecting together (a restart, a shared login) share one scrypt run.
    let pending = inFlight.get(key);
    if (pending?.user !== user) {
      const entry = { user, result: verifyPassword(password, user.password) };
      const forget = () => {
        if (inFlight.get(key) === entry) inFlight.delete(key);
      };
      entry.result.then(forget, forget);
      inFlight.set(key, entry);
      pending = entry;
    }
    if (!(await pending.result)) return fail(request, `wrong password for user "${user.login}"`);
    verified.set(key, user);
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
      return user === undefined ? PASS : admit(user, request, "token");
    },
    close() {
      store.close();
    },
  };
}

/** A stand-in hash that no password matches, verified for unknown logins. */
const DUMMY_PASSWORD: StoredPassword = {
  kind: "scrypt", ...DEFAULT_SCRYPT, salt: randomBytes(16).toString("base64url"), hash: randomBytes(32).toString("base64url"),
};

function pairKey(login: string, password: string): string {
  return createHash("sha256").update(login, "utf8").update("\0").update(password, "utf8").digest("base64");
}
