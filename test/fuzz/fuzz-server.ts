import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testChannel } from "../helpers/bundled-server.js";
import { childrenOf, commandOf } from "../helpers/process-tree.js";
import { waitUntil } from "../helpers/wait-for.js";

/** How the server process ended. */
export interface ServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** How the server under test is started. */
export interface FuzzServerOptions {
  /** The middleware the chain asks last: the fuzzer's stub, which refuses everyone. */
  backendUrl: string;
  /** Gets every chunk the server writes on stdout and stderr (the test suite's log audit keeps them). */
  onOutput?: (text: string) => void;
  /** How long to wait for the server to listen and (with `waitForHls`) for the first HLS playlist, ms. */
  startTimeoutMs?: number;
  /** The checkout whose `server/src/main.ts` runs (default: the current directory). */
  root?: string;
  /** Resolve only once the channel's HLS playlist exists (default true; a restart may skip it to be back sooner). */
  waitForHls?: boolean;
}

const APP = "live";
const CHANNEL = "test";
const TAIL_LINES = 80;
const MAX_LINE_CHARS = 2000;

/**
 * FuzzServer is the bundled server under attack, run as a child process from its entry point
 * (`node --import tsx server/src/main.ts --config <file>`: the source of what `npm start` and the bin run
 * compiled), so a crash shows as the process exiting.
 * Its configuration: OS-picked ports on 127.0.0.1, one small test-pattern channel, a users file with
 * one token user (the authorized viewer of the liveness probe), a securetoken secret, the management
 * API with a token, and an http-request backend that refuses everyone with `onUnreachable: allow` —
 * so a request the plugin cannot even send to the backend shows up as media to an unauthorized client.
 * Every credential is random per start; every output line is searched for them.
 */
export class FuzzServer {
  readonly app = APP;
  readonly channel = CHANNEL;
  readonly viewerToken = `fz-viewer-${randomBytes(12).toString("hex")}`;
  readonly apiToken = randomBytes(32).toString("base64url");
  readonly securetokenSecret = `fz-secret-${randomBytes(12).toString("hex")}`;
  readonly dir = mkdtempSync(join(tmpdir(), "va-fuzz-"));
  ports = { http: 0, rtmp: 0, api: 0 };
  readonly exited: Promise<ServerExit>;
  #child: ChildProcess;
  #exit: ServerExit | undefined;
  readonly #tail: string[] = [];
  #partial = "";
  readonly #leaks = new Map<string, number>();
  readonly #errorEvents = new Map<string, number>();
  /** ffmpeg children seen, by pid, with their start time (so a reused pid is never mistaken for one). */
  readonly #ffmpegPids = new Map<number, string>();
  #started: ((line: string) => void) | undefined;

  private constructor(options: FuzzServerOptions) {
    const usersFile = join(this.dir, "users.yaml");
    writeFileSync(usersFile, `users:\n  - login: fuzz-viewer\n    tokens: [${this.viewerToken}]\n    packages: ["*"]\n`);
    const config = {
      log: { level: "info" },
      auth: {
        usersFile,
        // One loopback address sends everything: a ban would lock out the liveness probe, not the attack.
        bruteForce: { maxFailures: 1_000_000 },
        securetoken: { secrets: [this.securetokenSecret] },
        backend: { type: "http-request", url: options.backendUrl, onUnreachable: "allow", timeoutMs: 2000 },
      },
      api: { enabled: true, port: 0, token: this.apiToken },
      // A short flush interval makes a ledger failure surface right after the case that caused it.
      stats: { flushIntervalMs: 200 },
      server: { rtmpPort: 0, httpPort: 0, dataDir: join(this.dir, "data"), restartInitialMs: 300, restartMaxMs: 2000 },
      channels: [testChannel(CHANNEL)],
    };
    const configFile = join(this.dir, "config.yaml");
    writeFileSync(configFile, JSON.stringify(config, null, 2)); // JSON is YAML
    const cwd = options.root ?? process.cwd();
    this.#child = spawn(process.execPath, ["--import", "tsx", "server/src/main.ts", "--config", configFile], {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const onChunk = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      options.onOutput?.(text);
      this.#consume(text);
    };
    this.#child.stdout!.on("data", onChunk);
    this.#child.stderr!.on("data", onChunk);
    this.exited = new Promise((resolve) =>
      this.#child.once("exit", (code, signal) => {
        this.#consume("\n");
        this.#exit = { code, signal };
        resolve(this.#exit);
      }),
    );
  }

  /** Starts the server and resolves once it listens and (unless told otherwise) its channel has an HLS playlist on disk. */
  static async start(options: FuzzServerOptions): Promise<FuzzServer> {
    const server = new FuzzServer(options);
    const timeoutMs = options.startTimeoutMs ?? 40_000;
    const startedLine = await Promise.race([
      new Promise<string>((resolve) => (server.#started = resolve)),
      server.exited.then((exit) =>
        Promise.reject(new Error(`the server exited while starting (${describeExit(exit)}):\n${server.tail(30).join("\n")}`)),
      ),
      new Promise<string>((_, reject) =>
        setTimeout(() => reject(new Error(`no server.started within ${timeoutMs} ms:\n${server.tail(30).join("\n")}`)), timeoutMs).unref(),
      ),
    ]).catch(async (error: unknown) => {
      await server.stop();
      throw error;
    });
    const started = JSON.parse(startedLine) as { httpPort: number; rtmpPort: number; apiPort: number };
    server.ports = { http: started.httpPort, rtmp: started.rtmpPort, api: started.apiPort };
    const playlist = join(server.dir, "data", "hls", APP, CHANNEL, "index.m3u8");
    if (options.waitForHls !== false) {
      // Stops waiting early when the server exits: no playlist will come then.
      const written = await waitUntil("an HLS playlist", () => server.#exit !== undefined || existsSync(playlist), timeoutMs, 100).then(
        () => server.#exit === undefined,
        () => false,
      );
      if (!written) {
        await server.stop();
        throw new Error(
          `no HLS playlist within ${timeoutMs} ms (${server.#exit ? describeExit(server.#exit) : "still running"}):\n${server.tail(30).join("\n")}`,
        );
      }
    }
    server.recordChildren();
    return server;
  }

  get pid(): number {
    return this.#child.pid!;
  }

  /** How the process ended, or undefined while it runs. */
  get exit(): ServerExit | undefined {
    return this.#exit;
  }

  get alive(): boolean {
    return this.#exit === undefined;
  }

  /** The process's resident set size (VmRSS), bytes; undefined once it has ended. */
  rssBytes(): number | undefined {
    try {
      const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${this.pid}/status`, "utf8"));
      return match === null ? undefined : Number(match[1]) * 1024;
    } catch {
      return undefined;
    }
  }

  /** Bytes the statistics database takes on disk (with its WAL and shared-memory files). */
  statsBytes(): number {
    let total = 0;
    for (const suffix of ["", "-wal", "-shm", "-journal"]) {
      const file = join(this.dir, "data", `stats.sqlite${suffix}`);
      if (existsSync(file)) total += statSync(file).size;
    }
    return total;
  }

  /** The last lines the server wrote (stdout and stderr interleaved), each cut at 2,000 characters. */
  tail(lines = TAIL_LINES): string[] {
    return this.#tail.slice(-lines);
  }

  /** Credentials of this run found verbatim in the server's output, with how many lines showed each. */
  secretLeaks(): Record<string, number> {
    return Object.fromEntries(this.#leaks);
  }

  /** Log lines at level error or above, counted by their `event` name. */
  errorEvents(): Record<string, number> {
    return Object.fromEntries(this.#errorEvents);
  }

  /** Notes the ffmpeg children now running, so none is left behind if the server dies. */
  recordChildren(): void {
    for (const pid of childrenOf(this.pid)) {
      const started = startTimeOf(pid);
      if (commandOf(pid).endsWith("ffmpeg") && started !== undefined) this.#ffmpegPids.set(pid, started);
    }
  }

  /** Stops the server (SIGTERM, then SIGKILL after 8 s), ends any ffmpeg child it left, removes its files. */
  async stop(): Promise<void> {
    if (this.#exit === undefined) {
      this.recordChildren();
      this.#child.kill("SIGTERM");
      const timer = setTimeout(() => this.#child.kill("SIGKILL"), 8000);
      await this.exited;
      clearTimeout(timer);
    }
    // A crashed server cannot stop its ffmpeg children; they are ours to end, each by its own pid.
    for (const [pid, started] of this.#ffmpegPids) {
      if (startTimeOf(pid) === started && commandOf(pid).endsWith("ffmpeg")) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // it exited on its own
        }
      }
    }
    // Retried: an ffmpeg child of a crashed server may still be writing a segment as the files go.
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }

  #consume(text: string): void {
    const lines = (this.#partial + text).split("\n");
    this.#partial = lines.pop() ?? "";
    for (const line of lines) {
      if (line.length === 0) continue;
      for (const [name, secret] of [
        ["viewer token", this.viewerToken],
        ["API token", this.apiToken],
        ["securetoken secret", this.securetokenSecret],
      ] as const) {
        if (line.includes(secret)) this.#leaks.set(name, (this.#leaks.get(name) ?? 0) + 1);
      }
      if (line.startsWith("{")) this.#noteJsonLine(line);
      this.#tail.push(line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…(${line.length} chars)` : line);
      if (this.#tail.length > TAIL_LINES) this.#tail.shift();
    }
  }

  #noteJsonLine(line: string): void {
    let entry: { level?: number; event?: string };
    try {
      entry = JSON.parse(line) as { level?: number; event?: string };
    } catch {
      return;
    }
    if (entry.event === "server.started") this.#started?.(line);
    if ((entry.level ?? 0) >= 50) {
      const event = entry.event ?? "(no event)";
      this.#errorEvents.set(event, (this.#errorEvents.get(event) ?? 0) + 1);
    }
  }
}

/** "exit code 1" or "signal SIGKILL". */
export function describeExit(exit: ServerExit): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}

/** The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat). */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}
