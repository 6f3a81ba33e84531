import { spawn } from "node:child_process";

/** What one wrk run reports: requests per second, p99 latency and socket/status errors. */
export interface WrkResult {
  rps: number;
  p99Ms: number;
  errors: number;
}

/**
 * One wrk run in its own process (the load generator never shares the server's event loop): `threads`
 * threads, `connections` keep-alive connections, `seconds` long, against `url`.
 */
export async function runWrk(url: string, seconds: number, connections: number, threads: number): Promise<WrkResult> {
  const child = spawn("wrk", ["-t", String(threads), "-c", String(connections), "-d", `${seconds}s`, "--latency", url], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  if (code !== 0) throw new Error(`wrk exited ${code}: ${out}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p99 = /\n\s+99%\s+([\d.]+)(us|ms|s)\b/.exec(out);
  const errorCounts = [
    ...(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)?.slice(1) ?? []),
    /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? "0",
  ];
  if (!Number.isFinite(rps) || p99 === null) throw new Error(`unreadable wrk output: ${out}`);
  const scale = { us: 0.001, ms: 1, s: 1000 }[p99[2] as "us" | "ms" | "s"];
  return { rps, p99Ms: Number(p99[1]) * scale, errors: errorCounts.reduce((a, n) => a + Number(n), 0) };
}
