import { pino, type Logger, type LevelWithSilent, type DestinationStream } from "pino";
import { Redactor } from "./redactor.js";

export type { Logger };

/** Log levels the configuration accepts. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const satisfies readonly LevelWithSilent[];
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Paths whose values are removed from every log line, wherever a caller put them: credentials
 * must never reach a log in full, since logs are shipped and kept where secrets must not be.
 */
const REDACT_PATHS = [
  "*.token", "*.password", "*.secret", "*.sign", "*.auth", "*.internalSecret",
  "token", "password", "secret", "sign", "auth", "internalSecret",
  "req.headers.authorization", "headers.authorization",
];

/**
 * Creates the plugin's structured JSON logger (one line per event, each with a stable `event` name).
 * Besides the path redaction, every line passes `redactor` as it is written: URL userinfo and
 * secret-looking query values anywhere in it, and the known secrets the redactor was built with (the
 * default knows none, and removes URL credentials only).
 */
export function createLogger(level: LogLevel, destination?: DestinationStream, redactor = new Redactor()): Logger {
  const options = {
    level,
    base: { name: "nms-viewer-auth" },
    redact: { paths: REDACT_PATHS, censor: "<redacted>" },
    hooks: { streamWrite: (line: string) => redactor.redactJsonLine(line) },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
