import { readdirSync, readFileSync } from "node:fs";

/** One process as /proc shows it. */
interface ProcEntry {
  pid: number;
  ppid: number;
  state: string;
}

function readProc(pid: number): ProcEntry | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { pid, ppid: Number(fields[1]), state: fields[0] ?? "" };
  } catch {
    return undefined; // it ended while we looked
  }
}

/** The direct children of `pid`, read from /proc. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    if (readProc(Number(entry))?.ppid === pid) out.push(Number(entry));
  }
  return out;
}

/** Every process under `pid` (children, grandchildren, …), read from /proc. */
export function descendantsOf(pid: number): number[] {
  const all: ProcEntry[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const proc = readProc(Number(entry));
    if (proc !== undefined) all.push(proc);
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const proc of all) {
      if (proc.ppid === parent) {
        found.push(proc.pid);
        queue.push(proc.pid);
      }
    }
  }
  return found;
}

/** True while the process runs; a zombie (ended, not yet reaped by its parent) counts as ended. */
export function isRunning(pid: number): boolean {
  const proc = readProc(pid);
  return proc !== undefined && proc.state !== "Z" && proc.state !== "X";
}

/** The program name of a process (its argv[0]), or "" once it has ended. */
export function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] ?? "";
  } catch {
    return "";
  }
}
