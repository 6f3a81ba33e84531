import type { Logger } from "../../core/log.js";
import type { HostPackage } from "../host-package.js";
import type { Nms4Internals } from "./nms4-internals.js";

/** NMS 4.4.3's levels (core/logger.js), lowest first; each is a pino level of the same name. */
const NMS_LEVELS = ["trace", "debug", "info", "warn", "error"] as const;
type NmsLevel = (typeof NMS_LEVELS)[number];

/**
 * Sends NMS's own log lines to `log` as JSON, `{"src":"nms","msg":…}`, instead of the plain text NMS
 * prints with console.log: stdout then holds only JSON lines a collector can parse. NMS's level filter
 * (`log.nmsLevel`, set through `setLogLevel`) still applies first. Returns the function that gives NMS
 * its own output back. NMS has one logger per copy, so the last bridge installed on a copy wins.
 * `host` is the NMS copy whose logger is routed (the one the caller builds its instance from).
 */
export function routeNmsLogs(log: Logger, host: HostPackage): () => void {
  const nmsLogger = host.require("./src/core/logger.js") as Nms4Internals["nmsLogger"];
  const original = Object.getOwnPropertyDescriptor(nmsLogger, "log");
  nmsLogger.log = function nmsLogLine(message: string, logLevel = "info"): void {
    const level: NmsLevel = (NMS_LEVELS as readonly string[]).includes(logLevel) ? (logLevel as NmsLevel) : "info";
    if (NMS_LEVELS.indexOf(level) < NMS_LEVELS.indexOf(nmsLogger.level as NmsLevel)) return;
    log[level]({ src: "nms" }, String(message));
  };
  return function restoreNmsLogs() {
    if (original !== undefined) Object.defineProperty(nmsLogger, "log", original);
    else delete (nmsLogger as { log?: unknown }).log; // back to the prototype's console.log
  };
}
