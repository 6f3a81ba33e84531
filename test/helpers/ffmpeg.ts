import { spawn, spawnSync, type ChildProcess } from "node:child_process";

/** True when an ffmpeg binary is on PATH; ffmpeg tests are skipped, with this reason, when not. */
export const hasFfmpeg = spawnSync("ffmpeg", ["-version"], { stdio: "ignore" }).status === 0;

/** ffmpeg inputs of the tests' picture: a moving pattern at 25 fps of `size`, and (`tone`) a 440 Hz sine. */
export function testPatternInputs(size = "320x240", tone = true): string[] {
  const picture = ["-f", "lavfi", "-i", `testsrc2=size=${size}:rate=25`];
  return tone ? [...picture, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"] : picture;
}

/** The tests' encoding: H.264 with a keyframe every second (`zerolatency` for a live publisher) and, with `audio`, AAC. */
export function testPatternEncoding(options: { zerolatency?: boolean; audio?: boolean } = {}): string[] {
  const tune = options.zerolatency === true ? ["-tune", "zerolatency"] : [];
  const audio = options.audio === false ? [] : ["-c:a", "aac", "-b:a", "64k"];
  return ["-c:v", "libx264", "-preset", "ultrafast", ...tune, "-g", "25", "-pix_fmt", "yuv420p", ...audio];
}

/** A running ffmpeg that publishes a moving test pattern with a tone to an RTMP URL. */
export function publishTestPattern(rtmpUrl: string): ChildProcess {
  const child = spawn(
    "ffmpeg",
    [
      "-hide_banner",
      "-loglevel",
      "error",
      "-re",
      ...testPatternInputs(),
      ...testPatternEncoding({ zerolatency: true }),
      "-f",
      "flv",
      rtmpUrl,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  child.stderr?.resume();
  return child;
}

/** The result of an ffmpeg run used as a player. */
export interface PlayerResult {
  code: number | null;
  /** Bytes ffmpeg wrote to stdout (a remux of what it received). */
  stdoutBytes: number;
  stderr: string;
  /** Video frames ffmpeg reported decoding, from `-progress`. */
  frames: number;
}

/**
 * Plays a URL with ffmpeg for at most `seconds`, remuxing to FLV on stdout so received media can be
 * counted, or decoding to null when `decode` is set. Resolves when ffmpeg exits.
 */
export function playWithFfmpeg(
  url: string,
  opts: { seconds: number; decode?: boolean; killAfterMs?: number; inputOptions?: readonly string[] },
): Promise<PlayerResult> {
  const output = opts.decode
    ? ["-t", String(opts.seconds), "-f", "null", "-"]
    : ["-t", String(opts.seconds), "-c", "copy", "-f", "flv", "pipe:1"];
  const child = spawn(
    "ffmpeg",
    ["-hide_banner", "-nostdin", "-rw_timeout", "8000000", ...(opts.inputOptions ?? []), "-i", url, "-progress", "pipe:2", ...output],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stdoutBytes = 0;
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdoutBytes += chunk.length));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const killer = setTimeout(() => child.kill("SIGKILL"), opts.killAfterMs ?? (opts.seconds + 15) * 1000);
  return new Promise((resolve) => {
    child.on("close", (code) => {
      clearTimeout(killer);
      const frames = [...stderr.matchAll(/^frame=(\d+)/gm)].map((m) => Number(m[1]));
      resolve({ code, stdoutBytes, stderr, frames: frames.length > 0 ? Math.max(...frames) : 0 });
    });
  });
}

/** Stops a child and waits for it to exit. */
export async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
  await exited;
  clearTimeout(timer);
}
