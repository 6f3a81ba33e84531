import type { FfmpegJob } from "../ffmpeg/ffmpeg-jobs.js";
import type { LocalProcesses } from "nms-viewer-auth";
import { systemClock, type Clock, type Logger, type Redactor } from "nms-viewer-auth/server-kit";

/** Restart policy: capped exponential backoff, reset once a run has stayed up long enough. */
export interface RestartPolicy {
  initialMs: number;
  maxMs: number;
  stableAfterMs: number;
  stopTimeoutMs: number;
}

/** What a supervised process is doing now. */
export interface SupervisedState {
  state: "starting" | "up" | "down" | "stopped";
  restarts: number;
  lastError: string | null;
  pid: number | undefined;
  since: number;
}

/**
 * Keeps one ffmpeg job running: when it fails or ends it is started again after 1×, 2×, 4×… the
 * initial delay, up to the cap. `stop` sends SIGTERM and, if the job lingers, SIGKILL. ffmpeg prints
 * its input and output URLs (source credentials) in its errors, so every line it writes passes the
 * redactor before it is kept for the status or logged. With `owned`, each job's pid is in that set from
 * its spawn until its exit: the plugin's proof that a loopback connection is the server's own ffmpeg.
 */
export class ProcessSupervisor {
  readonly #name: string;
  readonly #start: () => FfmpegJob;
  readonly #policy: RestartPolicy;
  readonly #log: Logger;
  readonly #redactor: Redactor;
  readonly #owned: LocalProcesses | undefined;
  readonly #clock: Clock;
  #job: FfmpegJob | undefined;
  #timer: NodeJS.Timeout | undefined;
  #failuresInARow = 0;
  #startedAt = 0;
  #stopped = false;
  #lastStderr: string | null = null;
  readonly status: SupervisedState;

  /** `clock` times the runs (a run of `stableAfterMs` resets the backoff) and the status's `since`. */
  constructor(
    name: string,
    start: () => FfmpegJob,
    policy: RestartPolicy,
    log: Logger,
    redactor: Redactor,
    owned?: LocalProcesses,
    clock: Clock = systemClock,
  ) {
    this.#name = name;
    this.#start = start;
    this.#policy = policy;
    this.#log = log;
    this.#redactor = redactor;
    this.#owned = owned;
    this.#clock = clock;
    this.status = { state: "stopped", restarts: 0, lastError: null, pid: undefined, since: clock.now() };
  }

  start(): void {
    this.#stopped = false;
    this.#launch();
  }

  /** The current job, for tests that kill it to check restarts. */
  get pid(): number | undefined {
    return this.#job?.pid;
  }

  #launch(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    this.#set("starting");
    this.#startedAt = this.#clock.now();
    const job = this.#start();
    this.#job = job;
    // The pid is the ffmpeg's own from its spawn (the lifeline shell execs it): registered before it can connect.
    const pid = job.pid;
    if (pid !== undefined) this.#owned?.add(pid);
    job.on("stderr", (line) => {
      if (line.startsWith("frame=") || line.startsWith("size=") || line.trim() === "") return;
      this.#lastStderr = this.#redactor.redact(line.trim());
      // ffmpeg's own lines never reach stdout as text: at debug they are JSON lines like ours.
      this.#log.debug({ event: "channel.ffmpeg_output", process: this.#name, line: this.#lastStderr }, "ffmpeg output");
    });
    job.on("progress", () => {
      this.status.pid = job.pid;
      this.#set("up");
      this.#log.info({ event: "channel.process_up", process: this.#name, pid: job.pid }, "ffmpeg is running");
    });
    job.on("exit", (error) => this.#onExit(job, error));
  }

  #onExit(job: FfmpegJob, error: string | null): void {
    if (job.pid !== undefined) this.#owned?.delete(job.pid);
    if (this.#job === job) this.#job = undefined;
    this.status.pid = undefined;
    if (this.#stopped) {
      this.#set("stopped");
      return;
    }
    const ranMs = this.#clock.now() - this.#startedAt;
    this.#failuresInARow = ranMs >= this.#policy.stableAfterMs ? 1 : this.#failuresInARow + 1;
    const delayMs = Math.min(this.#policy.maxMs, this.#policy.initialMs * 2 ** (this.#failuresInARow - 1));
    this.status.lastError = this.#lastStderr ?? (error === null ? "ffmpeg ended" : this.#redactor.redact(error));
    this.status.restarts++;
    this.#set("down");
    this.#log.error(
      {
        event: "channel.process_down",
        process: this.#name,
        lastError: this.status.lastError,
        restartInMs: delayMs,
        restarts: this.status.restarts,
      },
      "ffmpeg stopped; restarting",
    );
    this.#timer = setTimeout(() => this.#launch(), delayMs);
  }

  /** Stops the job and any pending restart; resolves once the process has exited. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const job = this.#job;
    if (job === undefined) {
      this.#set("stopped");
      return;
    }
    const exited = new Promise<void>((resolve) => job.once("exit", () => resolve()));
    job.kill("SIGTERM");
    const killer = setTimeout(() => job.kill("SIGKILL"), this.#policy.stopTimeoutMs);
    await exited;
    clearTimeout(killer);
    this.#set("stopped");
  }

  #set(state: SupervisedState["state"]): void {
    this.status.state = state;
    this.status.since = this.#clock.now();
  }
}
