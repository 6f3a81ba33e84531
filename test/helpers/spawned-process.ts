import { spawn, type ChildProcess } from "node:child_process";
import { recordExternalLog } from "./log-audit.js";

/** A child process whose stdout and stderr are collected and fed to the suite-wide log audit. */
export interface SpawnedProcess {
  proc: ChildProcess;
  /** Everything it wrote so far, stdout and stderr interleaved. */
  output(): string;
  /** Resolves with its exit code (null when a signal ended it). */
  exit: Promise<number | null>;
}

/** Spawns `command` with `args` and collects its output; every line goes to the log audit too. */
export function spawnLogged(command: string, args: readonly string[]): SpawnedProcess {
  const proc = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (d: Buffer) => {
    output += d.toString();
    recordExternalLog(d.toString());
  };
  proc.stdout!.on("data", keep);
  proc.stderr!.on("data", keep);
  const exit = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return { proc, output: () => output, exit };
}
