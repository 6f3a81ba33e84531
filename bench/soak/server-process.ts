import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { waitFor as pollUntil } from "../../test/helpers/wait-for.js";

/** The repository root: the server runs from here, as `npm start` does. */
export const REPO = resolve(import.meta.dirname, "../..");

/** How the server is run: the compiled build (what the bin and `npm start` run) or the TypeScript through tsx. */
export type ServerRuntime = "dist" | "tsx";

/** Every process the suite started and has not seen end: killed if the suite itself ends first (a crash, Ctrl-C). */
const started = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of started) child.kill("SIGKILL");
});
process.once("SIGINT", () => process.exit(130));

/** Keeps `child` to be killed should the suite end before it. */
export function track<T extends ChildProcess>(child: T): T {
  started.add(child);
  child.once("exit", () => started.delete(child));
  return child;
}

/** Builds both packages (plugin/dist, server/dist), as `npm start` does before it runs. */
export function buildOnce(): void {
  const build = spawnSync("npm", ["run", "-s", "build"], { cwd: REPO, encoding: "utf8" });
  if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}${build.stderr}`);
}

/** A bundled server running in its own process from a generated config file. */
export interface ServerProcess {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Log lines counted by `event` (every line, whatever its level). */
  readonly events: Map<string, number>;
  /** Log lines at level error (50) or above. */
  errorLines(): number;
  /** The last lines it wrote, for a failure message. */
  tail(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal`, waits for the exit (SIGKILL after `timeoutMs`), says how long it took. */
  stop(signal: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

/** Writes `config` (JSON is YAML) to `file` and starts the server on it. */
export function startServerProcess(config: object, file: string, runtime: ServerRuntime): ServerProcess {
  writeFileSync(file, JSON.stringify(config, null, 2));
  // SOAK_SERVER_NODE_OPTIONS adds node flags to the server only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it under load.
  const nodeFlags = (process.env.SOAK_SERVER_NODE_OPTIONS ?? "").split(" ").filter((f) => f !== "");
  const args = [
    ...nodeFlags,
    ...(runtime === "dist"
      ? [join(REPO, "server/dist/main.js"), "--config", file]
      : ["--import", "tsx", join(REPO, "server/src/main.ts"), "--config", file]),
  ];
  if (runtime === "dist" && !existsSync(join(REPO, "server/dist/main.js")))
    throw new Error("server/dist/ is missing: build first (npm run build)");
  const proc = track(spawn(process.execPath, args, { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] }));
  const events = new Map<string, number>();
  const tail: string[] = [];
  let errors = 0;
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > 100) tail.shift();
    try {
      const entry = JSON.parse(line) as { event?: string; level?: number };
      if (entry.event !== undefined) events.set(entry.event, (events.get(entry.event) ?? 0) + 1);
      if ((entry.level ?? 0) >= 50) errors++;
    } catch {
      // not JSON (a crash trace): kept in the tail
    }
  };
  createInterface({ input: proc.stdout! }).on("line", keep);
  createInterface({ input: proc.stderr! }).on("line", keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    proc.once("exit", (code, signal) => r({ code, signal })),
  );
  return {
    proc,
    pid: proc.pid!,
    events,
    errorLines: () => errors,
    tail: () => tail.join("\n"),
    exited,
    async stop(signal, timeoutMs = 30_000) {
      const sentAt = Date.now();
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const killer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
      const how = await exited;
      clearTimeout(killer);
      return { ...how, ms: Date.now() - sentAt };
    },
  };
}

/** The tests' `waitFor` (polls every 200 ms), with the suite's longer default of 30 s. */
export function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  return pollUntil(what, check, timeoutMs);
}

/** Waits until the channel's playlist lists at least `segments` segments (the channel is on air). */
export async function waitForPlaylist(hlsDir: string, app: string, channel: string, segments: number, timeoutMs = 60_000): Promise<void> {
  const file = join(hlsDir, app, channel, "index.m3u8");
  await waitFor(
    `${app}/${channel} on air (${segments} segments)`,
    () => {
      try {
        return (readFileSync(file, "utf8").match(/#EXTINF/g)?.length ?? 0) >= segments ? true : undefined;
      } catch {
        return undefined;
      }
    },
    timeoutMs,
  );
}

/** Resident memory (bytes) and open file descriptors of a process, from /proc. */
export function sampleProcess(pid: number): { rssBytes: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { rssBytes: rssKb * 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
}

/** CPU seconds (user + system) a process has used so far, from /proc (clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
