import { pino, type Logger, type LevelWithSilent, type DestinationStream } from "pino";

export type { Logger };

/** Log levels the configuration accepts. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const satisfies readonly LevelWithSilent[];
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Paths whose values are removed from every log line, wherever a caller put them: credentials
 * must never reach a log in full (style.md §8).
 */
const REDACT_PATHS = [
  "*.token", "*.password", "*.secret", "*.sign", "*.auth", "*.internalSecret",
  "token", "password", "secret", "sign", "auth", "internalSecret",
  "req.headers.authorization", "headers.authorization",
];

/** Creates the plugin's structured JSON logger (one line per event, each with a stable `event` name). */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = { level, base: { name: "nms-viewer-auth" }, redact: { paths: REDACT_PATHS, censor: "<redacted>" } };
  return destination === undefined ? pino(options) : pino(options, destination);
}
