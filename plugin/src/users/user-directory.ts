import { createHash } from "node:crypto";
import { ALL_CHANNELS, type UserConfig } from "./users-schema.js";
import type { ConfigIssue } from "../core/errors.js";
import { IpRuleList } from "../net/ip-rule-list.js";
import type { StoredPassword } from "./stored-password.js";

/**
 * User tokens shorter than this are guessable: loaded with a `users.weak_token` warning from the
 * configuration or the users file (the quick start's `demo` keeps working), refused by the API.
 */
export const MIN_TOKEN_LENGTH = 12;

/** One built-in user, compiled for lookups: channels resolved from packages, IPs in a rule list. */
export interface DirectoryUser {
  readonly login: string;
  readonly password: StoredPassword | undefined;
  /** Where the user may play from; null = anywhere. */
  readonly ips: IpRuleList | null;
  readonly expiresAtMs: number | undefined;
  readonly maxConnections: number | undefined;
  /** The channels the user's packages grant; `all` for `*`. */
  readonly channels: ReadonlySet<string> | "all";
  readonly enabled: boolean;
}

/**
 * UserDirectory is an immutable set of built-in users, indexed for constant-time lookups by login and
 * by token: tokens are keyed by their SHA-256, so the map never compares a presented token character by
 * character and 100,000 users cost one hash and one map read. A reload builds a new directory.
 */
export class UserDirectory {
  readonly #byLogin: ReadonlyMap<string, DirectoryUser>;
  readonly #byTokenHash: ReadonlyMap<string, DirectoryUser>;
  /** Logins whose password is stored as plaintext (warned about at load). */
  readonly plaintextLogins: readonly string[];
  /** Logins with a token shorter than MIN_TOKEN_LENGTH (warned about at load). */
  readonly weakTokenLogins: readonly string[];

  private constructor(
    byLogin: Map<string, DirectoryUser>,
    byTokenHash: Map<string, DirectoryUser>,
    plaintextLogins: string[],
    weakTokenLogins: string[],
  ) {
    this.#byLogin = byLogin;
    this.#byTokenHash = byTokenHash;
    this.plaintextLogins = plaintextLogins;
    this.weakTokenLogins = weakTokenLogins;
  }

  /**
   * Compiles validated users against the configured packages. Cross-field rules are checked here, each
   * issue under `pathPrefix` (`auth.users` or the users file's `users`): unique logins, unique tokens,
   * known packages, and a password or a token for everyone. Returns every issue at once, or the directory.
   * An undefined entry (one that failed its schema) is skipped but keeps its index, so the other
   * entries' issues carry the right key paths.
   */
  static compile(
    users: readonly (UserConfig | undefined)[],
    packages: Readonly<Record<string, readonly string[]>>,
    pathPrefix: string,
  ): UserDirectory | ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    const byLogin = new Map<string, DirectoryUser>();
    const loginIndex = new Map<string, number>();
    const byTokenHash = new Map<string, DirectoryUser>();
    const tokenOwner = new Map<string, string>();
    const plaintext: string[] = [];
    const weakTokens: string[] = [];
    users.forEach((user, i) => {
      if (user === undefined) return; // an entry that failed validation, reported by its schema
      const at = `${pathPrefix}[${i}]`;
      const firstIndex = loginIndex.get(user.login);
      if (firstIndex !== undefined) {
        issues.push({ path: `${at}.login`, message: `duplicates ${pathPrefix}[${firstIndex}].login`, value: user.login });
        return;
      }
      loginIndex.set(user.login, i);
      if (user.password === undefined && user.tokens.length === 0) {
        issues.push({ path: at, message: `user "${user.login}" needs a password or at least one token` });
      }
      const channels = resolveChannels(user, packages, at, issues);
      const compiled: DirectoryUser = {
        login: user.login,
        password: user.password,
        ips: user.ips.length === 0 ? null : new IpRuleList(user.ips),
        expiresAtMs: user.expires,
        maxConnections: user.maxConnections,
        channels,
        enabled: user.enabled,
      };
      byLogin.set(user.login, compiled);
      if (user.password?.kind === "plain") plaintext.push(user.login);
      if (user.tokens.some((token) => token.length < MIN_TOKEN_LENGTH)) weakTokens.push(user.login);
      user.tokens.forEach((token, j) => {
        const key = tokenKey(token);
        const owner = tokenOwner.get(key);
        if (owner !== undefined) {
          issues.push({ path: `${at}.tokens[${j}]`, message: `is also a token of user "${owner}"`, value: "<redacted>" });
          return;
        }
        tokenOwner.set(key, user.login);
        byTokenHash.set(key, compiled);
      });
    });
    return issues.length > 0 ? issues : new UserDirectory(byLogin, byTokenHash, plaintext, weakTokens);
  }

  /** How many users the directory holds. */
  get size(): number {
    return this.#byLogin.size;
  }

  /** The user with this login, or undefined. */
  byLogin(login: string): DirectoryUser | undefined {
    return this.#byLogin.get(login);
  }

  /** The user owning a token, looked up by the token's SHA-256. */
  byToken(token: string): DirectoryUser | undefined {
    return this.#byTokenHash.get(tokenKey(token));
  }
}

/** May the user play this channel? */
export function grantsChannel(user: DirectoryUser, channel: string): boolean {
  return user.channels === "all" || user.channels.has(channel);
}

function resolveChannels(
  user: UserConfig,
  packages: Readonly<Record<string, readonly string[]>>,
  at: string,
  issues: ConfigIssue[],
): ReadonlySet<string> | "all" {
  const channels = new Set<string>();
  let all = false;
  user.packages.forEach((name, j) => {
    if (name === ALL_CHANNELS) {
      all = true;
      return;
    }
    const members = Object.hasOwn(packages, name) ? packages[name] : undefined;
    if (members === undefined) {
      const known = Object.keys(packages);
      issues.push({
        path: `${at}.packages[${j}]`,
        message: `is not a package in auth.packages${known.length > 0 ? ` (known: ${known.join(", ")})` : " (none defined)"}`,
        value: name,
      });
      return;
    }
    for (const channel of members) {
      if (channel === ALL_CHANNELS) all = true;
      else channels.add(channel);
    }
  });
  return all ? "all" : channels;
}

function tokenKey(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("base64");
}
