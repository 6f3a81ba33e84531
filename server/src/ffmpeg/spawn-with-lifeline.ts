import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import type { FfmpegJob } from "./ffmpeg-jobs.js";

/**
 * The shell that puts a lifeline on the program: it keeps the read end of the server's stdin pipe (fd 3)
 * in a small background watcher and then becomes the program itself (`exec`, so the server's pid for
 * the job is the program's pid and its signals reach it directly). When the server dies, even by
 * SIGKILL, the kernel closes the pipe: `cat` sees end-of-file and the watcher sends SIGTERM, then
 * SIGKILL 2 s later if the program lingers. When the program ends first, the server reaps it before
 * it closes the pipe, so the watcher's `kill -TERM` finds no process and it stops there.
 * The watcher's output goes to /dev/null so it never holds the server's stderr pipe open.
 */
const LIFELINE_SCRIPT = [
  "exec 3<&0",
  "(cat <&3 >/dev/null 2>&1; kill -TERM $$ 2>/dev/null && sleep 2 && kill -KILL $$ 2>/dev/null) </dev/null >/dev/null 2>&1 &",
  'exec "$@" </dev/null 3<&-',
].join("\n");

/** ffmpeg's progress lines (`-stats`): the first one means media flows. */
const PROGRESS_LINE = /^(frame|size)=/;

/**
 * Starts `program args` so that it cannot outlive this process: a POSIX shell (`/bin/sh`, no native
 * code) watches a pipe from us and ends the program when the pipe closes (see LIFELINE_SCRIPT). Lines of
 * its stderr (split on CR and LF, as ffmpeg's `-stats` rewrites its line with CR) are `stderr` events;
 * the first progress line is `progress`; `exit` comes once, with null after a clean end or the reason.
 */
export function spawnWithLifeline(program: string, args: readonly string[]): FfmpegJob {
  const job = new EventEmitter() as FfmpegJob & { pid: number | undefined };
  const child = spawn("/bin/sh", ["-c", LIFELINE_SCRIPT, "ffmpeg-lifeline", program, ...args], { stdio: ["pipe", "ignore", "pipe"] });
  job.pid = child.pid;
  let exited = false;
  let flowing = false;
  const exit = (error: string | null) => {
    if (exited) return;
    exited = true;
    job.emit("exit", error);
  };
  // We never write: the pipe is only the lifeline. Its error (EPIPE once the job ended) means nothing.
  child.stdin!.on("error", () => {});
  let pending = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    const lines = (pending + chunk).split(/\r\n|\r|\n/);
    pending = lines.pop() ?? "";
    for (const line of lines) emitLine(line);
  });
  const emitLine = (line: string) => {
    job.emit("stderr", line);
    if (!flowing && PROGRESS_LINE.test(line.trim())) {
      flowing = true;
      job.emit("progress");
    }
  };
  child.on("error", (error) => exit(error.message));
  child.on("close", (code, signal) => {
    if (pending !== "") emitLine(pending);
    pending = "";
    if (code === 0) exit(null);
    else exit(signal !== null ? `ffmpeg was killed with signal ${signal}` : `ffmpeg exited with code ${code}`);
  });
  job.kill = (signal) => {
    if (!exited) child.kill(signal);
  };
  return job;
}
