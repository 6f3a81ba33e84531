import { pino, type LevelWithSilent } from "pino";
import type PinoPretty from "pino-pretty";
import { pluginRequire } from "./plugin-require.cjs";
import { Redactor } from "./redactor.js";

/** One log method: an object of fields with an optional message, or a message alone (pino's calling forms). */
export interface LogFn {
  (fields: object, message?: string): void;
  (message: string): void;
}

/**
 * The logger the plugin writes to: the part of pino's `Logger` it uses, spelled here so that the package's
 * declarations do not name pino (bundled into the package rather than installed). A pino logger is one,
 * and so is any object with these methods.
 */
export interface Logger {
  level: string;
  fatal: LogFn;
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  trace: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

/** Where log lines go instead of stdout: anything with pino's `write(line)` (a file stream, a test's capture). */
export interface LogDestination {
  write(line: string): void;
}

/** Log levels the configuration accepts. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const satisfies readonly LevelWithSilent[];
export type LogLevel = (typeof LOG_LEVELS)[number];

/** How log lines are written: one JSON object per line (for collectors), or `pretty` text for a terminal. */
export const LOG_FORMATS = ["json", "pretty"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * Paths whose values are removed from every log line, wherever a caller put them: credentials
 * must never reach a log in full, since logs are shipped and kept where secrets must not be.
 */
const REDACT_PATHS = [
  "*.token",
  "*.password",
  "*.secret",
  "*.sign",
  "*.auth",
  "*.internalSecret",
  "token",
  "password",
  "secret",
  "sign",
  "auth",
  "internalSecret",
  "req.headers.authorization",
  "headers.authorization",
];

/**
 * Creates the plugin's structured JSON logger (one line per event, each with a stable `event` name);
 * `format: "pretty"` writes the same events as coloured text (colours only on a terminal) instead.
 * Besides the path redaction, every line passes `redactor` as it is written: URL userinfo and
 * secret-looking query values anywhere in it, and the known secrets the redactor was built with (the
 * default knows none, and removes URL credentials only).
 */
export function createLogger(level: LogLevel, destination?: LogDestination, redactor = new Redactor(), format: LogFormat = "json"): Logger {
  const options = {
    level,
    base: { name: "nms-viewer-auth" },
    redact: { paths: REDACT_PATHS, censor: "<redacted>" },
    hooks: { streamWrite: (line: string) => redactor.redactJsonLine(line) },
  };
  // Pretty text is made from the JSON line after redaction, so both formats hide the same secrets.
  // Synchronous like pino's default stdout, so a line written just before an exit is not lost.
  const target =
    format === "pretty"
      ? loadPinoPretty()({ sync: true, colorize: process.stdout.isTTY === true, destination: destination ?? 1 })
      : destination;
  return target === undefined ? pino(options) : pino(options, target);
}

/**
 * pino-pretty is an optional peer, loaded only when `log.format` is `pretty`: a terminal aid that an app
 * logging JSON to a collector should not have to install.
 */
function loadPinoPretty(): typeof PinoPretty {
  try {
    return pluginRequire("pino-pretty") as typeof PinoPretty;
  } catch {
    throw new Error("log.format: pretty needs the package pino-pretty: install it (npm install pino-pretty) or use log.format: json");
  }
}
