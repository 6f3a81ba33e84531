import { watch, type FSWatcher } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { parseYamlText, readConfigText, readYamlFile } from "../config/parse-config.js";
import type { UserConfig, UsersAuthConfig } from "./users-schema.js";
import { ConfigError, type ConfigIssue } from "../core/errors.js";
import { guarded } from "../core/guarded.js";
import type { Logger } from "../core/log.js";
import { MIN_TOKEN_LENGTH, UserDirectory } from "./user-directory.js";
import { compileUsersFile, type CompiledUsers } from "./users-file-content.js";

/** The outcome of a users reload: the new user count, or every issue found (the old users stay). */
export type UsersReloadResult =
  { readonly ok: true; readonly users: number } | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

/** Options of a UserStore beyond the configuration. */
export interface UserStoreOptions {
  /** Quiet time after the last change event before the file is read again. Default 200 ms. */
  debounceMs?: number;
  /** Reload on SIGHUP. Default true when a users file is configured. */
  reloadOnSighup?: boolean;
}

/**
 * UserStore holds the current built-in users: from `auth.users`, or from `auth.usersFile`, which is
 * re-read when it changes (fs.watch on its folder, debounced, so editors that replace the file are
 * seen) and on SIGHUP, once `start`ed. A file that fails to load keeps the previous users and logs
 * `users.reload_failed` with every issue and its key path. `close()` removes the watcher and the
 * signal listener.
 */
export class UserStore {
  #directory: UserDirectory;
  /** The validated users the directory was compiled from (for listing them). */
  #users: readonly UserConfig[];
  /** The text this process last wrote to the users file: its own change event needs no reload. */
  #lastWritten: string | undefined;
  readonly #file: string | null;
  readonly #packages: UsersAuthConfig["packages"];
  readonly #log: Logger;
  readonly #debounceMs: number;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #onSighup: (() => void) | undefined;
  #reloadOnSighup = false;
  #started = false;
  #closed = false;

  private constructor(
    directory: UserDirectory,
    users: readonly UserConfig[],
    file: string | null,
    auth: UsersAuthConfig,
    log: Logger,
    options: UserStoreOptions,
  ) {
    this.#directory = directory;
    this.#users = users;
    this.#file = file;
    this.#packages = auth.packages;
    this.#log = log;
    this.#debounceMs = options.debounceMs ?? 200;
  }

  /**
   * Loads the configured users, or returns undefined when neither `auth.users` nor `auth.usersFile`
   * is set (the users step is then left out of the chain). Throws a ConfigError, before anything
   * listens, when the users or the file are invalid, or when both are set.
   */
  static open(auth: UsersAuthConfig, log: Logger, options: UserStoreOptions = {}): UserStore | undefined {
    const store = UserStore.load(auth, log, options);
    store?.start();
    return store;
  }

  /**
   * `open` without the watching: the users are read and checked (the same ConfigErrors), but no watcher
   * or signal listener exists until `start`. The composition root builds with this and starts later.
   */
  static load(auth: UsersAuthConfig, log: Logger, options: UserStoreOptions = {}): UserStore | undefined {
    if (auth.usersFile !== null && auth.users.length > 0) {
      throw new ConfigError([{ path: "auth.usersFile", message: "cannot be used together with auth.users; keep the users in one place" }]);
    }
    if (auth.usersFile === null) {
      if (auth.users.length === 0) return undefined;
      const store = new UserStore(
        compileOrThrow(auth.users, auth.packages, "auth.users", "configuration"),
        auth.users,
        null,
        auth,
        log,
        options,
      );
      store.#warnWeak();
      return store;
    }
    const file = resolve(auth.usersFile);
    const compiled = compileUsersFile(readYamlFile(file), auth.packages);
    if (Array.isArray(compiled)) throw new ConfigError(compiled, file);
    const store = new UserStore(compiled.directory, compiled.users, file, auth, log, options);
    store.#warnWeak();
    store.#reloadOnSighup = options.reloadOnSighup ?? true;
    log.info({ event: "users.loaded", file, users: store.#directory.size }, "users loaded");
    return store;
  }

  /** The users in force now. */
  get directory(): UserDirectory {
    return this.#directory;
  }

  /** The users in force now, as configured (validated), in file order. */
  get users(): readonly UserConfig[] {
    return this.#users;
  }

  /** The users file, or null when the users live in the main configuration (`auth.users`). */
  get file(): string | null {
    return this.#file;
  }

  /** The packages users are compiled against (`auth.packages`). */
  get packages(): UsersAuthConfig["packages"] {
    return this.#packages;
  }

  /**
   * Puts users that this process has just written to the users file in force at once, without waiting
   * for the file watcher (whose reload of the same text is then skipped).
   */
  install(directory: UserDirectory, users: readonly UserConfig[], writtenText: string): void {
    this.#directory = directory;
    this.#users = users;
    this.#lastWritten = writtenText;
  }

  /**
   * Re-reads the users file now. On success the new users take effect for the next check (playing
   * sessions meet them at their next re-check); on failure the previous users stay.
   */
  reload(): UsersReloadResult {
    if (this.#file === null) return { ok: true, users: this.#directory.size };
    let compiled: CompiledUsers | ConfigIssue[];
    try {
      const text = readConfigText(this.#file);
      // The change event of this process's own write (an API edit, already in force) needs no reload.
      if (text === this.#lastWritten) return { ok: true, users: this.#directory.size };
      compiled = compileUsersFile(parseYamlText(text, this.#file), this.#packages);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      compiled = [...error.issues];
    }
    if (Array.isArray(compiled)) {
      this.#log.error(
        { event: "users.reload_failed", file: this.#file, issues: compiled, usersKept: this.#directory.size },
        `users file has ${compiled.length} error(s); keeping the previous users`,
      );
      return { ok: false, issues: compiled };
    }
    this.#directory = compiled.directory;
    this.#users = compiled.users;
    this.#warnWeak();
    this.#log.info({ event: "users.reloaded", file: this.#file, users: compiled.directory.size }, "users reloaded");
    return { ok: true, users: compiled.directory.size };
  }

  /**
   * Starts watching the users file and (unless `reloadOnSighup` is false) listening for SIGHUP. Users from
   * `auth.users` have nothing to watch. Once only; nothing after `close`.
   */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    if (this.#file !== null) this.#watch(this.#reloadOnSighup);
  }

  /** Stops watching the file and listening for SIGHUP. Safe to call twice, and before `start`. */
  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#onSighup !== undefined) process.off("SIGHUP", this.#onSighup);
    this.#onSighup = undefined;
  }

  #watch(onSighup: boolean): void {
    const file = this.#file!;
    const name = basename(file);
    // Watch the folder, not the file: editors and `mv` replace the file, which ends a watch on its inode.
    // Every callback below is guarded: an exception out of a watcher, timer or signal listener has no
    // caller and would end the process; a failed automatic reload keeps the previous users instead.
    const log = this.#log;
    const watchFailed = (error: unknown) =>
      log.warn({ event: "users.watch_failed", file, err: error }, "watching the users file failed; SIGHUP still reloads");
    try {
      this.#watcher = watch(
        dirname(file),
        { persistent: false },
        guarded(log, "users.reload_crashed", function usersFileChanged(_event: string, changed: string | null) {
          if (changed === null || changed === name) schedule();
        }),
      );
      this.#watcher.on("error", guarded(log, "users.reload_crashed", watchFailed));
    } catch (error) {
      // Out of inotify watches (ENOSPC) and the like: the users are loaded, only automatic reloads are lost.
      watchFailed(error);
    }
    const schedule = () => {
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = setTimeout(
        guarded(log, "users.reload_crashed", () => {
          this.#timer = undefined;
          this.reload();
        }),
        this.#debounceMs,
      );
      this.#timer.unref();
    };
    if (onSighup) {
      this.#onSighup = guarded(log, "users.reload_crashed", function reloadUsersOnSighup() {
        schedule();
      });
      process.on("SIGHUP", this.#onSighup);
    }
  }

  /** Warns, at every load, about plaintext passwords and guessable tokens, naming the logins (never a secret). */
  #warnWeak(): void {
    const plaintext = this.#directory.plaintextLogins;
    if (plaintext.length > 0) {
      this.#log.warn(
        { event: "users.plaintext_password", count: plaintext.length, logins: plaintext.slice(0, 50) },
        `${plaintext.length} user(s) have a plaintext password; store scrypt hashes instead (npm run hash-password)`,
      );
    }
    const weak = this.#directory.weakTokenLogins;
    if (weak.length > 0) {
      this.#log.warn(
        { event: "users.weak_token", count: weak.length, logins: weak.slice(0, 50), minLength: MIN_TOKEN_LENGTH },
        `${weak.length} user(s) have a token shorter than ${MIN_TOKEN_LENGTH} characters, short enough to be found by trying; give them long random tokens (e.g. openssl rand -hex 16)`,
      );
    }
  }
}

function compileOrThrow(
  users: readonly UserConfig[],
  packages: UsersAuthConfig["packages"],
  pathPrefix: string,
  source: string,
): UserDirectory {
  const compiled = UserDirectory.compile(users, packages, pathPrefix);
  if (Array.isArray(compiled)) throw new ConfigError(compiled, source);
  return compiled;
}
