import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:net";
import { freePort } from "./free-port.js";
import { waitUntil } from "./wait-for.js";

/** A real redis-server on a free loopback port, with no persistence and a temp dir of its own. */
export interface RedisServer {
  port: number;
  url: string;
  /** kill -STOP: the socket stays open, nothing answers. */
  pause(): void;
  /** kill -CONT. */
  resume(): void;
  /** Kills it (SIGKILL) and starts a fresh, empty one on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "va-redis-"));
  let proc = await launch(port, dir);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pause: () => void proc.kill("SIGSTOP"),
    resume: () => void proc.kill("SIGCONT"),
    async restart() {
      await killRedis(proc);
      proc = await launch(port, dir);
    },
    async stop() {
      proc.kill("SIGCONT");
      await killRedis(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function launch(port: number, dir: string): Promise<ChildProcess> {
  return launchRedisServer(["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], port);
}

/** Starts `redis-server` with `args` (a server, a Sentinel or a Cluster node) and waits until it answers PING on `port`. */
export async function launchRedisServer(args: string[], port: number): Promise<ChildProcess> {
  const proc = spawn("redis-server", args, { stdio: "ignore" });
  try {
    await waitUntil(`redis-server to answer on port ${port}`, () => answersPing(port), 10_000, 50);
    return proc;
  } catch (error) {
    proc.kill("SIGKILL");
    throw error;
  }
}

/** SIGKILL, and waits for the exit (no-op when it already exited). */
export async function killRedis(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once("exit", r));
  proc.kill("SIGKILL");
  await exited;
}

/** True when something on the port answers PING with PONG. */
export function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (d) => done(d.toString().startsWith("+PONG")));
  });
}

/** Runs one command with redis-cli-like raw RESP over a fresh socket; resolves with the raw reply text. */
export function redisRaw(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let reply = "";
    socket.setTimeout(3000, () => {
      socket.destroy();
      reject(new Error("redis did not answer"));
    });
    socket.on("error", reject);
    socket.on("connect", () => socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`));
    socket.on("data", (d) => {
      reply += d.toString();
      // Good enough for the integer and short replies tests read.
      if (reply.endsWith("\r\n")) {
        socket.destroy();
        resolve(reply);
      }
    });
  });
}
