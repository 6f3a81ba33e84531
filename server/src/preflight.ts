import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { ConfigError } from "nms-viewer-auth";
import { apiTokenAtBuild, createLogger, type ConfigIssue, readPrivateKey, UserStore } from "nms-viewer-auth/server-kit";
import type { ServerConfig } from "./server-config-schema.js";

/** How long `ffmpeg -version` may take: a path that hangs is as unusable as one that is missing. */
const VERSION_TIMEOUT_MS = 15_000;

/** The optional packages a feature of the bundled server needs, with the install command. */
const OPTIONAL_PACKAGES = {
  "better-sqlite3": "npm install better-sqlite3@12",
  "fluent-ffmpeg": "npm install fluent-ffmpeg@2.1.3",
  redis: "npm install redis@6.3.1",
  maxmind: "npm install maxmind@5",
} as const;

/** Every MaxMind DB file ends with its metadata, found after this marker (MaxMind DB spec, "Database Metadata"). */
const MMDB_METADATA_MARKER = Buffer.from("\xab\xcd\xefMaxMind.com", "latin1");

/**
 * What `start` needs beyond a valid configuration, checked before anything listens or is written, by
 * `--check-config` and by the start itself: every file the configuration points to exists and parses
 * (the users file through the loader the start uses), every folder the server writes into can be made
 * and written, every optional package a configured feature loads is installed, and ffmpeg/ffprobe run.
 * Every problem is one issue naming its key, so all of them are reported at once and none as a stack trace.
 */
export function preflightIssues(config: ServerConfig, packageRequire: NodeJS.Require = createRequire(import.meta.url)): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const dataDir = resolve(config.server.dataDir);
  issues.push(...writableDirIssues("server.dataDir", dataDir));
  if (config.hls.dir !== null && config.hls.dir !== undefined) issues.push(...writableDirIssues("hls.dir", resolve(config.hls.dir)));
  if (config.stats.file !== null) issues.push(...writableDirIssues("stats.file", dirname(resolve(config.stats.file)), "its folder "));
  issues.push(
    ...usersFileIssues(config),
    ...caFileIssues(config),
    ...tokenFileIssues(config),
    ...edgeKeyIssues(config),
    ...geoDatabaseIssues(config),
  );
  const geo = config.auth.geo;
  if (geo.countryDatabase !== null || geo.asnDatabase !== null) {
    const key = geo.countryDatabase !== null ? "auth.geo.countryDatabase" : "auth.geo.asnDatabase";
    issues.push(...packageIssues(key, "maxmind", "the geo databases", packageRequire));
  }
  // The bundled server always keeps statistics (stats.file defaults into the data directory).
  issues.push(...packageIssues("stats.file", "better-sqlite3", "statistics (always on in the bundled server)", packageRequire));
  if (config.events.webhooks.length > 0) {
    // The webhook outbox is an SQLite file too (beside stats.file unless events.outbox.file says otherwise).
    issues.push(...packageIssues("events.webhooks", "better-sqlite3", "webhooks (their outbox)", packageRequire));
    if (config.events.outbox.file !== null)
      issues.push(...writableDirIssues("events.outbox.file", dirname(resolve(config.events.outbox.file)), "its folder "));
  }
  if (config.channels.length > 0) {
    issues.push(...packageIssues("channels", "fluent-ffmpeg", "the channels", packageRequire));
    issues.push(
      ...programIssues("server.ffmpegPath", config.server.ffmpegPath),
      ...programIssues("server.ffprobePath", config.server.ffprobePath),
    );
  }
  if (config.cluster !== null && config.cluster !== undefined)
    issues.push(...packageIssues("cluster", "redis", "the cluster section", packageRequire));
  return issues;
}

/** preflightIssues as a ConfigError (none: returns). */
export function assertPreflight(config: ServerConfig, file: string): void {
  const issues = preflightIssues(config);
  if (issues.length > 0) throw new ConfigError(issues, file);
}

/** A folder the server makes (recursively) and writes into: it is one, or the nearest existing parent lets it be made. */
function writableDirIssues(key: string, dir: string, what = ""): ConfigIssue[] {
  let existing = dir;
  while (!exists(existing) && dirname(existing) !== existing) existing = dirname(existing);
  const info = statSync(existing, { throwIfNoEntry: false });
  if (info !== undefined && !info.isDirectory()) {
    return [{ path: key, message: `${what}${dir} cannot be a folder: ${existing} is a file; point ${key} elsewhere` }];
  }
  try {
    accessSync(existing, constants.W_OK | constants.X_OK);
    return [];
  } catch {
    const verb = existing === dir ? "is not writable" : `cannot be created (${existing} is not writable)`;
    return [{ path: key, message: `${what}${dir} ${verb} by this user: fix its permissions or point ${key} elsewhere` }];
  }
}

/** Whether `path` exists (a path through a file, ENOTDIR, does not). */
function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** `auth.usersFile` read and compiled by the loader the start uses (UserStore.load), nothing watched. */
function usersFileIssues(config: ServerConfig): ConfigIssue[] {
  if (config.auth.usersFile === null) return [];
  try {
    UserStore.load(config.auth, createLogger("silent"), { reloadOnSighup: false });
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const file = resolve(config.auth.usersFile);
    return error.issues.map((issue) => ({
      path: "auth.usersFile",
      message: `${issue.path === "" ? "" : `${file}: ${issue.path}: `}${issue.message}; fix the file or auth.usersFile`,
    }));
  }
}

/** `auth.backend.caFile` (its readability the schema checks): it must hold a PEM certificate. */
function caFileIssues(config: ServerConfig): ConfigIssue[] {
  const caFile = config.auth.backend?.caFile ?? null;
  if (caFile === null) return [];
  try {
    new X509Certificate(readFileSync(caFile));
    return [];
  } catch (error) {
    return [
      {
        path: "auth.backend.caFile",
        message: `${caFile} is not a PEM certificate (${(error as Error).message}); give the CA's certificate file`,
      },
    ];
  }
}

/** `hls.edge.privateKeyFile` (its readability the schema checks): it must hold an RSA private key in PEM. */
function edgeKeyIssues(config: ServerConfig): ConfigIssue[] {
  const file = config.hls.edge?.privateKeyFile;
  if (file === undefined) return [];
  const key = readPrivateKey(file);
  return typeof key === "string" ? [{ path: "hls.edge.privateKeyFile", message: key }] : [];
}

/** `auth.geo`'s databases (their readability the schema checks): each must be a MaxMind DB file. */
function geoDatabaseIssues(config: ServerConfig): ConfigIssue[] {
  const files = [
    ["auth.geo.countryDatabase", config.auth.geo.countryDatabase],
    ["auth.geo.asnDatabase", config.auth.geo.asnDatabase],
  ] as const;
  return files.flatMap(([key, file]) => {
    if (file === null) return [];
    try {
      if (readFileSync(file).lastIndexOf(MMDB_METADATA_MARKER) >= 0) return [];
      return [{ path: key, message: `${file} is not a MaxMind DB (.mmdb) file: no metadata marker` }];
    } catch (error) {
      return [{ path: key, message: `${file} cannot be read (${(error as Error).message})` }];
    }
  });
}

/** `api.tokenFile`: a token file that exists must hold a strong token; a missing one must be creatable. */
function tokenFileIssues(config: ServerConfig): ConfigIssue[] {
  const { enabled, tokenFile, token } = config.api;
  if (!enabled || tokenFile === null || token !== null) return [];
  try {
    apiTokenAtBuild(config as unknown as Parameters<typeof apiTokenAtBuild>[0]); // reads only
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return [...error.issues];
  }
  return exists(tokenFile) ? [] : writableDirIssues("api.tokenFile", dirname(resolve(tokenFile)), "its folder ");
}

function packageIssues(key: string, name: keyof typeof OPTIONAL_PACKAGES, feature: string, packageRequire: NodeJS.Require): ConfigIssue[] {
  try {
    packageRequire.resolve(name);
    return [];
  } catch {
    return [{ path: key, message: `the ${name} package is not installed and ${feature} need it: ${OPTIONAL_PACKAGES[name]}` }];
  }
}

/** An ffmpeg or ffprobe path that runs `-version` and exits 0. */
function programIssues(key: string, program: string): ConfigIssue[] {
  const run = spawnSync(program, ["-version"], { stdio: "ignore", timeout: VERSION_TIMEOUT_MS });
  if (run.error === undefined && run.status === 0) return [];
  const why =
    (run.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT"
      ? "not found"
      : run.error !== undefined
        ? `does not run (${(run.error as NodeJS.ErrnoException).code ?? run.error.message})`
        : `exited with ${run.status ?? run.signal} on -version`;
  const name = key.endsWith("ffprobePath") ? "ffprobe" : "ffmpeg";
  return [{ path: key, message: `${JSON.stringify(program)} ${why}: install ${name} or set ${key} to its path` }];
}
