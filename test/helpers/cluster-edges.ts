import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { spawnLogged, type SpawnedProcess } from "./spawned-process.js";
import { testChannel, waitFor } from "./bundled-server.js";
import { httpGetFor } from "./flv-clients.js";
import { TEST_API_TOKEN } from "./api-tokens.js";
import { assertMatchesContract } from "./openapi-check.js";
import { descendantsOf, isRunning } from "./process-tree.js";

export const EDGE_API_TOKEN = TEST_API_TOKEN;

/** An edge (bundled server with the plugin) running in a child process. */
export interface Edge {
  name: string;
  child: SpawnedProcess;
  httpBase: string;
  rtmpBase: string;
  wsBase: string;
  /** Calls the edge's management API with the bearer token. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any; text: string }>;
  /** The `session.end` log lines the edge wrote so far. */
  ended(): { id: string; reason: string; name?: string }[];
  stop(): Promise<void>;
  /** kill -9: no goodbye to Redis; `stop` afterwards removes its data once its ffmpeg children are gone. */
  crash(): Promise<void>;
}

/** Starts an edge with `plugin` config (cluster, auth, sessions…) merged over a loopback base with one test channel. */
export async function startEdge(name: string, plugin: Record<string, unknown>): Promise<Edge> {
  const dataDir = mkdtempSync(join(tmpdir(), `va-edge-${name}-`));
  const config = {
    server: { bind: "127.0.0.1", rtmpPort: 0, httpPort: 0, dataDir, restartInitialMs: 300, restartMaxMs: 2000 },
    channels: [testChannel("test")],
    api: { enabled: true, port: 0, token: EDGE_API_TOKEN },
    log: { level: "info" },
    ...plugin,
  };
  const child = spawnLogged(process.execPath, ["--import", "tsx", "test/fixtures/cluster-edge.ts", JSON.stringify(config)]);
  let ports: { http: number; rtmp: number; api: number } | undefined;
  try {
    ports = await waitFor(
      `edge ${name} ready`,
      () => {
        if (child.proc.exitCode !== null) throw new Error(`edge ${name} exited: ${child.output().slice(-2000)}`);
        const line = child
          .output()
          .split("\n")
          .find((l) => l.includes('"edge.ready"'));
        return line === undefined ? undefined : (JSON.parse(line) as { http: number; rtmp: number; api: number });
      },
      90_000,
    );
  } catch (error) {
    child.proc.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await request(`http://127.0.0.1:${ports!.api}${path}`, {
      method: method as "GET",
      headers: { authorization: `Bearer ${EDGE_API_TOKEN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    assertMatchesContract({ method, path, status: res.statusCode, headers: res.headers, body: text });
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, json, text };
  };
  const cleanup = () => rmSync(dataDir, { recursive: true, force: true });
  let orphans: number[] = [];
  return {
    name,
    child,
    httpBase: `http://127.0.0.1:${ports.http}`,
    rtmpBase: `rtmp://127.0.0.1:${ports.rtmp}`,
    wsBase: `ws://127.0.0.1:${ports.http}`,
    api,
    ended: () =>
      child
        .output()
        .split("\n")
        .filter((l) => l.includes('"session.end"'))
        .map((l) => (JSON.parse(l) as { session: { id: string; reason: string; name?: string } }).session),
    async stop() {
      if (child.proc.exitCode === null && child.proc.signalCode === null) {
        child.proc.kill("SIGTERM");
        const timer = setTimeout(() => child.proc.kill("SIGKILL"), 10_000);
        await child.exit;
        clearTimeout(timer);
      }
      // After a crash its ffmpeg children outlive it briefly (until their RTMP connection drops) and may
      // still be writing a segment: the data directory is removed once they are gone.
      await waitFor("the edge's ffmpeg children gone", () => (orphans.every((pid) => !isRunning(pid)) ? true : undefined), 15_000);
      cleanup();
    },
    /** SIGKILL, as a crash; `stop` then removes its data once its children are gone too. */
    async crash() {
      orphans = descendantsOf(child.proc.pid!);
      child.proc.kill("SIGKILL");
      await child.exit;
    },
  };
}

/**
 * Waits until `edge` is on air (a probe token gets FLV bytes), optionally serves HLS, and has joined the
 * cluster (its `/api/cluster` reports Redis up).
 */
export async function waitForEdgeReady(edge: Edge, options: { hls?: boolean } = {}): Promise<void> {
  await waitFor(
    `edge ${edge.name} on air`,
    async () => ((await httpGetFor(`${edge.httpBase}/live/test.flv?token=probe-token-0001`, 300)).bytes > 0 ? true : undefined),
    60_000,
  );
  if (options.hls === true)
    await waitFor(
      `edge ${edge.name} HLS`,
      async () =>
        (await httpGetFor(`${edge.httpBase}/live/test/index.m3u8?token=probe-token-0001`, 1000)).status === 200 ? true : undefined,
      60_000,
    );
  await waitFor(`edge ${edge.name} joined`, async () => ((await edge.api("GET", "/api/cluster")).json?.redis === "up" ? true : undefined));
}
