import { validateConfig } from "../config/parse-config.js";
import { userSchema, usersFileContentSchema, type UserConfig } from "./users-schema.js";
import type { ConfigIssue } from "../core/errors.js";
import { UserDirectory } from "./user-directory.js";

/** A users file's content, validated and compiled: the users as configured and their directory. */
export interface CompiledUsers {
  readonly users: readonly UserConfig[];
  readonly directory: UserDirectory;
}

/**
 * Validates and compiles the content of a users file (plain data from its YAML) against the packages.
 * Every problem is reported at once: schema issues (a bad date, an unknown key) together with the
 * cross-user ones (a duplicate token, an unknown package) of the entries that are valid by themselves,
 * so an operator fixes the whole file in one go.
 */
export function compileUsersFile(content: unknown, packages: Readonly<Record<string, readonly string[]>>): CompiledUsers | ConfigIssue[] {
  const whole = validateConfig(usersFileContentSchema, content);
  if (whole.ok) {
    const directory = UserDirectory.compile(whole.value.users, packages, "users");
    return Array.isArray(directory) ? directory : { users: whole.value.users, directory };
  }
  const entries = (content as { users?: unknown } | null)?.users;
  if (!Array.isArray(entries)) return whole.issues;
  const valid = entries.map((entry): UserConfig | undefined => {
    const checked = validateConfig(userSchema, entry);
    return checked.ok ? checked.value : undefined;
  });
  const cross = UserDirectory.compile(valid, packages, "users");
  return [...whole.issues, ...(Array.isArray(cross) ? cross : [])];
}
