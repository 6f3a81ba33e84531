#!/usr/bin/env node
// The only place that listens: loads the config, starts the bundled server, reloads it on SIGHUP, stops it on SIGTERM/SIGINT,
// and on an unknown uncaught error stops it and exits with 1 (last-resort.ts) for a supervisor to restart it.
import { inspect, parseArgs } from "node:util";
import { ConfigError } from "nms-viewer-auth";
import { LOG_FORMATS, Redactor, makeTokenCommand } from "nms-viewer-auth/server-kit";
import { buildServer } from "./build-server.js";
import { explainCommand } from "./explain-command.js";
import { dataModesFor } from "./data-modes.js";
import { loadFluentFfmpeg } from "./ffmpeg/ffmpeg-jobs.js";
import { packageVersion } from "./package-version.js";
import { watchParent } from "./parent-watch.js";
import { installLastResort } from "./last-resort.js";
import { servingText, servingUrls } from "./serving-urls.js";
import { assertPreflight } from "./preflight.js";
import { busyPortLines, listenErrorLine } from "./busy-ports.js";
import type { ServerConfig } from "./server-config-schema.js";
import { CONFIG_FILE_VARIABLE, ENV_SETTINGS, envOverrides, loadServerConfig, type Override } from "./env-overrides.js";

const USAGE = `Usage: nms-viewer-auth --config FILE [--check-config] [--log-format json|pretty]
       nms-viewer-auth make-token
       nms-viewer-auth explain --config FILE URL --ip ADDR [--user-agent UA] [--cache-only] [--json]

Runs the bundled server (node-media-server + viewer authorization + ffmpeg channels) from a YAML file.

Options:
  -c, --config FILE   the configuration file (required unless ${CONFIG_FILE_VARIABLE} names it;
                      npm start passes samples/quickstart.yaml)
      --check-config  check FILE and what starting it needs (the files it names, the folders it
                      writes, optional packages, ffmpeg/ffprobe): print "OK" and exit 0, or
                      print every issue and exit 1
      --log-format F  json (one object per line, the default) or pretty (text for a terminal);
                      over log.format and VA_LOG_FORMAT
  -v, --version       print the version
  -h, --help          print this help

Commands:
  make-token          print a new API token (256 random bits) for api.token and exit
  explain             what FILE's server would do with URL from ADDR, starting nothing
                      (exit 0 allow, 2 deny, 3 unknown, 1 error; explain --help for more)

Environment (set and not empty: over the file): ${ENV_SETTINGS.map((s) => s.variable).join(", ")}.

Signals: SIGTERM/SIGINT stop (exit 0; 1 if the stop fails or takes longer than
server.stopTimeoutMs + 5 s), SIGHUP reloads FILE. Exit codes: 0 stopped, 1 error, 2 bad usage.
`;

/** Exit code for a command line that cannot be run (unknown option, missing --config). */
const EXIT_USAGE = 2;

/** Time a stop may take after the ffmpeg children's own stop timeout (NMS, the API, the ledger's final write). */
const SHUTDOWN_SLACK_MS = 5000;

/** The command line, or undefined after printing usage (and setting the exit code). */
function readArgs(): { file: string; checkOnly: boolean; flags: Override[] } | undefined {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        config: { type: "string", short: "c" },
        "check-config": { type: "boolean" },
        "log-format": { type: "string" },
        version: { type: "boolean", short: "v" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = EXIT_USAGE;
    return undefined;
  }
  if (values.help === true) {
    process.stdout.write(USAGE);
    return undefined;
  }
  if (values.version === true) {
    process.stdout.write(`${packageVersion()}\n`);
    return undefined;
  }
  const file = values.config ?? nonEmpty(process.env[CONFIG_FILE_VARIABLE]);
  if (file === undefined) {
    process.stderr.write(`--config FILE (or ${CONFIG_FILE_VARIABLE}) is required\n\n${USAGE}`);
    process.exitCode = EXIT_USAGE;
    return undefined;
  }
  const logFormat = values["log-format"];
  if (logFormat !== undefined && !(LOG_FORMATS as readonly string[]).includes(logFormat)) {
    process.stderr.write(`--log-format must be one of ${LOG_FORMATS.join(", ")}, not ${JSON.stringify(logFormat)}\n\n${USAGE}`);
    process.exitCode = EXIT_USAGE;
    return undefined;
  }
  const flags: Override[] = logFormat === undefined ? [] : [{ source: "--log-format", key: ["log", "format"], value: logFormat }];
  return { file, checkOnly: values["check-config"] === true, flags };
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text === "" ? undefined : text;
}

async function main(): Promise<void> {
  // Subcommands start nothing: make-token needs no configuration, explain builds the chain and asks it.
  if (process.argv[2] === "explain") {
    process.exitCode = await explainCommand(
      process.argv.slice(3),
      (t) => process.stdout.write(t),
      (t) => process.stderr.write(t),
    );
    return;
  }
  if (process.argv[2] === "make-token") {
    process.exitCode = makeTokenCommand(
      process.argv.slice(3),
      (t) => process.stdout.write(t),
      (t) => process.stderr.write(t),
    );
    return;
  }
  const args = readArgs();
  if (args === undefined) return;
  const { file } = args;
  // The file, then the environment, then flags; read again on every reload (the environment stays).
  const load = () => {
    const env = envOverrides(process.env);
    return loadServerConfig(file, [...env.overrides, ...args.flags], env.issues);
  };
  const config = load();
  started = config;
  // What start needs beyond a valid file, before anything listens or is written: every problem at once.
  assertPreflight(config, file);
  if (args.checkOnly) {
    process.stdout.write(`OK: ${file}\n`);
    return;
  }
  // Before anything is written: ffmpeg creates the HLS segments with this process's umask, so they are
  // the server user's only (or its group's too, with server.hlsGroupReadable), whatever umask we were given.
  const busy = await busyPortLines(config);
  if (busy.length > 0) {
    process.stderr.write(busy.map((line) => `${line}\n`).join(""));
    process.exitCode = 1;
    return;
  }
  process.umask(dataModesFor(config.server.hlsGroupReadable).umask);
  loadFluentFfmpeg(); // an optional peer dependency: a missing one stops the start here, saying how to install it
  const server = buildServer(config);
  // One stop, whoever asks first (a signal or the last-resort handler): stopping twice is not safe.
  // A stop that comes while the server starts waits for the start: a listener or channel started after
  // the stop passed it would outlive the stop.
  let starting: Promise<void> | undefined;
  let stopped: Promise<void> | undefined;
  const stopOnce = () => (stopped ??= (starting ?? Promise.resolve()).catch(() => {}).then(() => server.stop()));
  installLastResort(process, { log: server.auth.log, stop: stopOnce, exit: (code) => process.exit(code) });
  // A stop that hangs must not keep the process alive under a supervisor that waits for it: ffmpeg gets
  // stopTimeoutMs before SIGKILL, and NMS, the API and the ledger's last write get SHUTDOWN_SLACK_MS more.
  const shutdownTimeoutMs = config.server.stopTimeoutMs + SHUTDOWN_SLACK_MS;
  const stop = (signal: string) => {
    if (stopped !== undefined) return;
    server.auth.log.info({ event: "server.signal", signal, timeoutMs: shutdownTimeoutMs }, "stopping");
    const deadline = setTimeout(function stopTookTooLong() {
      server.auth.log.error(
        { event: "server.stop_failed", timeoutMs: shutdownTimeoutMs },
        `stop did not finish within ${shutdownTimeoutMs} ms; exiting`,
      );
      process.exit(1);
    }, shutdownTimeoutMs);
    stopOnce().then(
      () => process.exit(0),
      (error: unknown) => {
        clearTimeout(deadline);
        server.auth.log.error({ event: "server.stop_failed", err: error }, "stop failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  // Under npm start, npm is the top process a supervisor signals: it forwards SIGTERM/SIGINT, but dies of
  // SIGHUP (and of SIGKILL) without telling us. A server whose npm is gone stops rather than run orphaned.
  if (process.env.npm_lifecycle_event !== undefined) {
    watchParent(() => {
      server.auth.log.warn(
        { event: "server.parent_gone", parent: "npm" },
        "npm, which started this server, has exited; stopping (send SIGHUP to the server's own pid to reload)",
      );
      stop("parent-gone");
    });
  }
  // SIGHUP re-reads the file: a valid one is taken over (what can be without a restart); an invalid
  // one is logged with every issue and changes nothing, so viewers and statistics carry on.
  process.on("SIGHUP", function reloadConfig() {
    try {
      server.reload(load());
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      server.auth.log.error(
        { event: "config.reload_failed", file, issues: error.issues },
        `${file} has ${error.issues.length} error(s); the running configuration stays`,
      );
    }
  });
  starting = server.start();
  await starting;
  // The server.serving log line has the URLs; a person at a terminal gets them readable too.
  const text = servingText(servingUrls(config, server.ports));
  if (config.log.format === "pretty") process.stdout.write(text);
  else if (process.stdout.isTTY === true) process.stderr.write(text);
}

/** The configuration being started, for the one-line report of a port taken after the check. */
let started: ServerConfig | undefined;

main().catch((error: unknown) => {
  const portLine = started === undefined ? undefined : listenErrorLine(started, error);
  if (portLine !== undefined) console.error(portLine);
  else if (error instanceof ConfigError) console.error(error.message);
  else console.error(new Redactor().redact(inspect(error))); // e.g. an ERR_INVALID_URL carries its input
  process.exit(1);
});
