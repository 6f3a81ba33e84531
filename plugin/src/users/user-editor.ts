import { validateConfig } from "../config/parse-config.js";
import { userSchema, type UserConfig } from "./users-schema.js";
import type { ConfigIssue } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import { maskSecret } from "../core/secrets.js";
import { SCRYPT_PREFIX } from "./stored-password.js";
import { hashPassword } from "./password-hash.js";
import type { UserStore } from "./user-store.js";
import { compileUsersFile } from "./users-file-content.js";
import { MIN_TOKEN_LENGTH } from "./user-directory.js";
import { UsersFileDocument, type RawUser } from "./users-file-document.js";

/** A user as the management API shows it: no password, tokens masked. */
export interface UserView {
  login: string;
  /** How the password is stored: an scrypt hash, plaintext (warned about), or none (token-only user). */
  password: "scrypt" | "plaintext" | "none";
  /** The tokens, masked (the first characters of a long token, never a whole one). */
  tokens: string[];
  ips: string[];
  expires: string | null;
  maxConnections: number | null;
  packages: string[];
  enabled: boolean;
  comment: string;
}

/** Why an edit was refused: the API maps each to its status code. */
export type EditProblem = "invalid" | "not-found" | "conflict" | "read-only";

/** The outcome of an edit: the user as stored now, or the problem with every issue found. */
export type UserEdit =
  | { readonly ok: true; readonly user: UserView }
  | { readonly ok: false; readonly problem: EditProblem; readonly error: string; readonly issues?: readonly ConfigIssue[] };

/**
 * UserEditor creates, replaces, patches and deletes built-in users in the users file on behalf of the
 * management API. An edit is validated like the file itself (every issue with its key path, plus the
 * cross-user rules: unique logins and tokens, known packages), written atomically with the file's
 * comments kept, and in force for the next check at once. Plaintext passwords sent to the API are
 * stored as scrypt hashes. A new token shorter than MIN_TOKEN_LENGTH (12) is refused: the API is where
 * tokens are made now, so it insists on unguessable ones (a users file may still hold short ones,
 * loaded with a warning). Users written in the main configuration (`auth.users`) are read-only here.
 */
export class UserEditor {
  readonly #store: UserStore;
  readonly #log: Logger;

  constructor(store: UserStore, log: Logger) {
    this.#store = store;
    this.#log = log;
  }

  /** Whether edits are possible: only when the users live in `auth.usersFile`. */
  get editable(): boolean {
    return this.#store.file !== null;
  }

  list(): UserView[] {
    return this.#store.users.map(viewOf);
  }

  get(login: string): UserView | undefined {
    const user = this.#store.users.find((u) => u.login === login);
    return user === undefined ? undefined : viewOf(user);
  }

  /** Adds a user; conflict when the login exists. */
  create(body: unknown): Promise<UserEdit> {
    return this.#edit("create", undefined, body);
  }

  /** Replaces a user's whole entry (keys left out take their defaults). */
  replace(login: string, body: unknown): Promise<UserEdit> {
    return this.#edit("replace", login, body);
  }

  /** Changes only the keys given; a key set to null is removed (back to its default). */
  patch(login: string, body: unknown): Promise<UserEdit> {
    return this.#edit("patch", login, body);
  }

  /** Deletes a user. */
  remove(login: string): UserEdit {
    const opened = this.#open();
    if (!(opened instanceof UsersFileDocument)) return opened;
    const user = this.get(login);
    if (user === undefined || !opened.remove(login)) return notFound(login);
    return this.#commit(opened, "delete", login) ?? { ok: true, user };
  }

  async #edit(action: "create" | "replace" | "patch", login: string | undefined, body: unknown): Promise<UserEdit> {
    if (!this.editable) return readOnly();
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      return { ok: false, problem: "invalid", error: "the body must be a JSON object of user keys (login, password, tokens, packages, …)" };
    }
    const given = { ...(body as RawUser) };
    const target = login ?? given.login;
    if (typeof target !== "string") return validationFailed(validateUser(given));
    if (given.login !== undefined && given.login !== target) {
      return {
        ok: false,
        problem: "invalid",
        error: "login cannot be changed; delete the user and create a new one",
        issues: [{ path: "login", message: `must be "${target}" (the login in the URL)`, value: given.login }],
      };
    }
    // Hash before reading the file: everything after the hash runs without a pause, so no other
    // edit can slip in between reading the file and writing it.
    if (typeof given.password === "string" && given.password !== "" && !given.password.startsWith(SCRYPT_PREFIX)) {
      given.password = await hashPassword(given.password);
    }
    const opened = this.#open();
    if (!(opened instanceof UsersFileDocument)) return opened;
    const existing = opened.entry(target);
    if (action === "create" && existing !== undefined) return { ok: false, problem: "conflict", error: `user "${target}" already exists` };
    if (action !== "create" && existing === undefined) return notFound(target);
    const entry = action === "patch" ? merge(existing!, given) : { ...given, login: target };
    const checked = validateUser(entry);
    if (!checked.ok) return validationFailed(checked);
    const weak = newWeakTokens(checked.value.tokens, existing?.tokens);
    if (weak.length > 0) return validationFailed({ ok: false, issues: weak });
    opened.put(target, entry);
    return this.#commit(opened, action, target) ?? { ok: true, user: viewOf(checked.value) };
  }

  #open(): UsersFileDocument | UserEdit {
    const file = this.#store.file;
    if (file === null) return readOnly();
    const opened = UsersFileDocument.read(file);
    if (Array.isArray(opened)) return fileBroken(opened);
    return opened;
  }

  /** Validates the edited file as a whole, writes it and puts it in force; returns a problem or undefined. */
  #commit(document: UsersFileDocument, action: string, login: string): UserEdit | undefined {
    const compiled = compileUsersFile(document.content(), this.#store.packages);
    if (Array.isArray(compiled)) {
      return {
        ok: false,
        problem: "conflict",
        error: "the change conflicts with the users file (a duplicate token, an unknown package, an entry broken by hand, …)",
        issues: compiled,
      };
    }
    const text = document.write();
    this.#store.install(compiled.directory, compiled.users, text);
    this.#log.info(
      { event: "users.changed", action, login, file: this.#store.file, users: compiled.directory.size },
      `user ${action}d through the API`,
    );
    return undefined;
  }
}

function validateUser(entry: RawUser) {
  return validateConfig(userSchema, entry);
}

/**
 * Issues for tokens shorter than MIN_TOKEN_LENGTH that the edit adds. Tokens the user already had are
 * left alone (the file may hold short ones, loaded with a warning), so editing another key of such a
 * user still works.
 */
function newWeakTokens(tokens: readonly string[], before: unknown): ConfigIssue[] {
  const had = new Set(Array.isArray(before) ? before.filter((t): t is string => typeof t === "string") : []);
  const issues: ConfigIssue[] = [];
  tokens.forEach((token, j) => {
    if (token.length < MIN_TOKEN_LENGTH && !had.has(token)) {
      issues.push({
        path: `tokens[${j}]`,
        message: `is shorter than ${MIN_TOKEN_LENGTH} characters: short enough to be found by trying; use a long random token (e.g. openssl rand -hex 16)`,
        value: "<redacted>",
      });
    }
  });
  return issues;
}

function merge(existing: RawUser, changes: RawUser): RawUser {
  const merged: RawUser = { ...existing };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}

function viewOf(user: UserConfig): UserView {
  return {
    login: user.login,
    password: user.password === undefined ? "none" : user.password.kind === "scrypt" ? "scrypt" : "plaintext",
    tokens: user.tokens.map(maskSecret),
    ips: user.ips.map((range) => range.text),
    expires: user.expires === undefined ? null : new Date(user.expires).toISOString(),
    maxConnections: user.maxConnections ?? null,
    packages: [...user.packages],
    enabled: user.enabled,
    comment: user.comment,
  };
}

function validationFailed(result: { ok: false; issues: ConfigIssue[] } | { ok: true }): UserEdit {
  const issues = result.ok ? [] : result.issues;
  return { ok: false, problem: "invalid", error: `the user has ${issues.length} error(s)`, issues };
}

function notFound(login: string): UserEdit {
  return { ok: false, problem: "not-found", error: `no user "${login}"` };
}

function readOnly(): UserEdit {
  return {
    ok: false,
    problem: "read-only",
    error: "users are written in the main configuration (auth.users); move them to auth.usersFile to edit them through the API",
  };
}

function fileBroken(issues: readonly ConfigIssue[]): UserEdit {
  return { ok: false, problem: "conflict", error: "the users file has errors; fix it before editing through the API", issues };
}
