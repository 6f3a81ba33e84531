import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { LoadSpec } from "./load-process.js";
import { mergeResults, type LoadResult } from "./load-results.js";
import { track } from "../server-process.js";

const LOAD_PROCESS = fileURLToPath(new URL("./load-process.ts", import.meta.url));

/** Load spread over several generator processes, seen as one. */
export interface RunningLoad {
  /** Viewers joined and active now, summed over the processes (from their last progress line). */
  progress(): { joined: number; active: number };
  /** Ends every viewer now; the result follows. */
  stop(): void;
  readonly result: Promise<LoadResult>;
  /** The generator processes' pids (to sample or to kill on an abort). */
  readonly pids: number[];
  kill(): void;
}

/**
 * Starts `processes` load generator processes (node + tsx, each its own event loop and core share), the
 * viewers of `spec` divided between them; viewer numbers stay distinct across processes.
 */
export function startLoad(spec: LoadSpec, processes: number): RunningLoad {
  const split = (n: number | undefined, i: number) => (n === undefined ? 0 : Math.floor(n / processes) + (i < n % processes ? 1 : 0));
  const children: ChildProcess[] = [];
  const progress: { joined: number; active: number }[] = [];
  const results: Promise<LoadResult>[] = [];
  let offset = spec.offset;
  for (let i = 0; i < processes; i++) {
    const part: LoadSpec = {
      ...spec,
      offset,
      ...(spec.hls ? { hls: { ...spec.hls, viewers: split(spec.hls.viewers, i) } } : {}),
      ...(spec.flv ? { flv: { ...spec.flv, viewers: split(spec.flv.viewers, i) } } : {}),
      ...(spec.join ? { join: { ...spec.join, viewers: split(spec.join.viewers, i) } } : {}),
    };
    offset += 1_000_000;
    const child = track(
      spawn(process.execPath, ["--import", "tsx", LOAD_PROCESS, JSON.stringify(part)], { stdio: ["pipe", "pipe", "inherit"] }),
    );
    children.push(child);
    progress.push({ joined: 0, active: 0 });
    results.push(
      new Promise<LoadResult>((resolve, reject) => {
        let result: LoadResult | undefined;
        createInterface({ input: child.stdout! }).on("line", (line) => {
          let message: { event: string; joined?: number; active?: number; result?: LoadResult };
          try {
            message = JSON.parse(line) as typeof message;
          } catch {
            return process.stderr.write(`load process ${i}: ${line.slice(0, 200)}\n`);
          }
          if (message.event === "progress") progress[i] = { joined: message.joined ?? 0, active: message.active ?? 0 };
          if (message.event === "result") result = message.result;
        });
        child.once("exit", (code, signal) =>
          result !== undefined ? resolve(result) : reject(new Error(`load process ${i} ended (${code ?? signal}) without a result`)),
        );
      }),
    );
  }
  return {
    progress: () => progress.reduce((a, p) => ({ joined: a.joined + p.joined, active: a.active + p.active }), { joined: 0, active: 0 }),
    stop: () => children.forEach((c) => c.stdin?.end("stop\n")),
    result: Promise.all(results).then(mergeResults),
    pids: children.map((c) => c.pid ?? 0),
    kill: () => children.forEach((c) => c.exitCode === null && c.kill("SIGKILL")),
  };
}
