import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { generateApiToken, tokenWeakness } from "./api/api-token.js";
import type { PluginConfig } from "./plugin-config-schema.js";
import { ConfigError } from "./core/errors.js";

/** Mode of the token file and of a folder made for it: the server's user only, whatever the umask. */
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/**
 * The configuration with `api.token` read from `api.tokenFile` (when the API is on and takes its
 * token from a file); otherwise the configuration as it is. A missing file is created first with a
 * new 256-bit token, exclusively (two servers starting at once read the same token) and 0600; an
 * existing one readable by others is narrowed to 0600. A file whose token is too weak, or that cannot
 * be read or written, is a ConfigError at `api.tokenFile`. The token itself is never logged.
 */
export function withApiTokenFromFile(config: PluginConfig): PluginConfig {
  const file = config.api.tokenFile;
  if (!config.api.enabled || file === null || config.api.token !== null) return config;
  const token = readOrCreate(file);
  return Object.freeze({ ...config, api: Object.freeze({ ...config.api, token }) });
}

/** The configuration with its API token known, and what `start` must write for it (nothing when no file is involved). */
export interface ApiTokenAtBuild {
  readonly config: PluginConfig;
  /**
   * Creates the missing token file with the token already in `config` (exclusively, 0600), or narrows an
   * existing one readable by others to 0600. Throws a ConfigError when another process created the file
   * meanwhile with another token.
   */
  readonly writeFile: (() => void) | undefined;
}

/**
 * `withApiTokenFromFile` without touching the disk beyond a read: the token is needed at build (the
 * logger's redactor, the management API), writing it is a side effect that waits for `start`. A
 * missing file gets a new token now and is created by `writeFile`.
 */
export function apiTokenAtBuild(config: PluginConfig): ApiTokenAtBuild {
  const file = config.api.tokenFile;
  if (!config.api.enabled || file === null || config.api.token !== null) return { config, writeFile: undefined };
  const existing = readToken(file);
  const token = existing ?? generateApiToken();
  return {
    config: Object.freeze({ ...config, api: Object.freeze({ ...config.api, token }) }),
    writeFile() {
      const written = readOrCreate(file, token);
      if (written !== token) throw fileError(file, "was written by another process after this one read it; start again to use its token");
    },
  };
}

/** The token in the file, checked; undefined when there is no file. */
function readToken(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8").trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw fileError(file, `cannot read it: ${(error as Error).message}`);
  }
  const weakness = tokenWeakness(text);
  if (weakness !== undefined)
    throw fileError(file, `holds a token that ${weakness} (or delete the file: the server then writes a new one)`);
  return text;
}

function readOrCreate(file: string, newToken = generateApiToken()): string {
  try {
    mkdirSync(dirname(file), { recursive: true, mode: DIR_MODE });
    const fd = openSync(file, "wx", FILE_MODE);
    const token = newToken;
    try {
      writeSync(fd, `${token}\n`);
    } finally {
      closeSync(fd);
    }
    return token;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw fileError(file, `cannot create it: ${(error as Error).message}`);
  }
  let text: string;
  try {
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, FILE_MODE);
    text = readFileSync(file, "utf8").trim();
  } catch (error) {
    throw fileError(file, `cannot read it: ${(error as Error).message}`);
  }
  const weakness = tokenWeakness(text);
  if (weakness !== undefined)
    throw fileError(file, `holds a token that ${weakness} (or delete the file: the server then writes a new one)`);
  return text;
}

function fileError(file: string, message: string): ConfigError {
  return new ConfigError([{ path: "api.tokenFile", message: `${file}: ${message}` }]);
}
