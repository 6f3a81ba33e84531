import { systemClock, type Clock, type Logger, LogRateLimit } from "nms-viewer-auth/server-kit";

/** The part of `process` the handler listens on; tests pass an EventEmitter. */
export interface ProcessEvents {
  on(event: "uncaughtException", listener: (error: Error, origin: string) => void): unknown;
  on(event: "unhandledRejection", listener: (reason: unknown) => void): unknown;
  off(event: "uncaughtException", listener: (error: Error, origin: string) => void): unknown;
  off(event: "unhandledRejection", listener: (reason: unknown) => void): unknown;
}

/** What the last-resort handler does on an unknown error. */
export interface LastResortOptions {
  log: Logger;
  /** Stops the server cleanly (viewers, ffmpeg children, NMS, the ledger's final write). */
  stop: () => Promise<void>;
  /** Ends the process: `process.exit` in production. */
  exit: (code: number) => void;
  /** How long `stop` may take before the process exits anyway (ms). Default 5000. */
  stopTimeoutMs?: number;
  /** Drives the rate limit of `process.survived` lines. Default: the system clock. */
  clock?: Clock;
}

/**
 * Error codes of one peer's connection going away: the socket is already destroyed when Node emits
 * them, so nothing of ours stopped half-way. They reach `uncaughtException` only when a library
 * (node-media-server 4.4.3 has sockets and responses without an `error` listener on some paths) forgot
 * a listener. Stopping every viewer because one of them hung up would hand anyone a kill switch.
 */
const PEER_GONE_CODES: ReadonlySet<string> = new Set([
  "EPIPE",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "ERR_STREAM_DESTROYED",
  "ERR_STREAM_WRITE_AFTER_END",
]);

/** A survived error is logged once, then at most once a minute with the count. */
const SURVIVED_LOG_INTERVAL_MS = 60_000;

/**
 * True for an error that is known to be harmless when it escapes: an Error whose `code` says a peer's
 * connection went away (PEER_GONE_CODES). Everything else is unknown.
 */
export function isHarmlessError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && PEER_GONE_CODES.has(code);
}

/**
 * Installs the bundled server's last-resort handler for `uncaughtException` and `unhandledRejection`.
 *
 * The rule: an error known to be harmless (isHarmlessError: a socket error of one viewer whose
 * connection is gone) is logged as `process.survived` (warn, rate-limited) and the server carries on.
 * Any other error is unknown: after it, the process's state cannot be trusted (a half-run callback
 * may have left a session, a lock or a counter inconsistent), so the handler logs `process.uncaught`
 * (fatal) with the error, stops the server (at most `stopTimeoutMs`, so a stop that hangs cannot
 * keep a broken process alive) and exits with code 1, for a supervisor (systemd, Docker, Kubernetes)
 * to restart it. Returns a function that removes the handler.
 *
 * @example
 * installLastResort(process, { log: server.auth.log, stop: () => server.stop(), exit: (code) => process.exit(code) });
 */
export function installLastResort(target: ProcessEvents, options: LastResortOptions): () => void {
  const { log, stop, exit } = options;
  const stopTimeoutMs = options.stopTimeoutMs ?? 5000;
  const survivedLog = new LogRateLimit(options.clock ?? systemClock, SURVIVED_LOG_INTERVAL_MS);
  let exiting = false;

  const handle = (error: unknown, origin: string): void => {
    if (isHarmlessError(error)) {
      const occurrences = survivedLog.hit();
      if (occurrences > 0) {
        log.warn(
          { event: "process.survived", origin, code: (error as { code: string }).code, occurrences, err: error },
          "a viewer's connection error escaped its listener; carrying on",
        );
      }
      return;
    }
    try {
      log.fatal(
        { event: "process.uncaught", origin, err: error, exiting },
        "unknown error; stopping the server and exiting with code 1 (a supervisor must restart it)",
      );
    } catch {
      // Even a logger that fails must not keep a broken process running.
    }
    if (exiting) return; // a second error while stopping: the exit already under way stands
    exiting = true;
    const deadline = setTimeout(function stopTookTooLong() {
      log.error({ event: "server.stop_failed", timeoutMs: stopTimeoutMs }, `stop did not finish within ${stopTimeoutMs} ms; exiting`);
      exit(1);
    }, stopTimeoutMs);
    Promise.resolve()
      .then(stop)
      .then(
        () => {
          clearTimeout(deadline);
          exit(1);
        },
        (stopError: unknown) => {
          clearTimeout(deadline);
          log.error({ event: "server.stop_failed", err: stopError }, "stop failed");
          exit(1);
        },
      );
  };
  const onException = function lastResortException(error: Error, origin: string): void {
    handle(error, origin);
  };
  const onRejection = function lastResortRejection(reason: unknown): void {
    handle(reason, "unhandledRejection");
  };
  target.on("uncaughtException", onException);
  target.on("unhandledRejection", onRejection);
  return () => {
    target.off("uncaughtException", onException);
    target.off("unhandledRejection", onRejection);
  };
}
