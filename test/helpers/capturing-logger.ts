import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../plugin/src/core/log.js";
import { auditTrail } from "./log-audit.js";

/** Every log line a test's code wrote, parsed, plus the raw text (for "no secret in any log" checks). */
export interface CapturedLog {
  logger: Logger;
  lines: Record<string, unknown>[];
  raw: string[];
  /** Lines whose `event` equals the name. */
  events(name: string): Record<string, unknown>[];
}

/** A real pino logger at trace level whose output is kept in memory. */
export function createCapturingLogger(): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line === "") continue;
        raw.push(line);
        auditTrail.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  const logger = createLogger("trace", sink);
  return { logger, lines, raw, events: (name) => lines.filter((l) => l.event === name) };
}
