// Twenty edges through one Redis, all on this machine: one real redis-server (free loopback port, no
// persistence) and VA_BENCH_EDGES edges (default 20), each its own process (bench/cluster-edge-process.ts:
// the plugin on a bare NMS 4.4.3 app, a `cluster` section with its own nodeId, built-in users, the
// management API with a token). A load generator in a process of its own (this file, started with
// `clients`) opens VA_BENCH_SESSIONS live sessions (default 10,000) spread evenly over the edges.
//
// The play: an HTTP-FLV GET of a stream nobody publishes. NMS 4.4.3 answers it 200 with the FLV header and
// keeps the player connected as a subscriber waiting for a publisher, and the plugin counts it as a
// playing session (in its store, `GET /api/sessions`, and Redis's per-edge session hash and counters), so it
// is a real session that stays open at the price of one idle socket, with no ffmpeg and no media to move.
// Checked before the load: one such play must show as `playing` in another edge's `GET /api/sessions`.
//
// Measured:
// - revocation propagation: per round, one edge's API closes a user (`DELETE /api/users/{user}/sessions`)
//   who holds one session on every other edge; per ended session, the time from the API call to that
//   edge's `session.end` log line (pino's `time`, ms; one machine, one clock). Target p99 < 200 ms.
// - limit race: a user with `maxConnections: 10`, VA_BENCH_RACE_PER_EDGE plays per edge (default 5: 100
//   for 10 slots with 20 edges), sockets connected first, every request written on one signal; exactly
//   10 must be admitted each round (VA_BENCH_RACE_ROUNDS, default 5).
// - Redis per 1,000 live sessions: `used_memory`, CPU (`used_cpu_user` + `used_cpu_sys`) for the opening
//   and over a quiet window (VA_BENCH_QUIET_SEC, default 60) with every session live, against an idle window
//   before the opening (a third as long: the edges' heartbeats alone), and `INFO commandstats` deltas.
//
// Writes a dated results block to bench/results/cluster-edges-<date>.md (VA_BENCH_RESULTS_DIR: elsewhere). Every process is stopped on exit,
// on failure and on Ctrl-C (and each edge also stops when its stdin pipe from this process closes).
import { execFile, fork, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { percentilesOf, round } from "./bench-stats.js";
import { writeDatedResults } from "./results-file.js";

const EDGES = Number(process.env.VA_BENCH_EDGES ?? 20);
const SESSIONS = Number(process.env.VA_BENCH_SESSIONS ?? 10_000);
const QUIET_SEC = Number(process.env.VA_BENCH_QUIET_SEC ?? 60);
const RACE_ROUNDS = Number(process.env.VA_BENCH_RACE_ROUNDS ?? 5);
const RACE_PER_EDGE = Number(process.env.VA_BENCH_RACE_PER_EDGE ?? 5);
const RACE_SLOTS = 10;
/** Enough rounds for ≥ 200 ended sessions (a p99) with 20 edges: 12 × 19 = 228. */
const REVOKE_ROUNDS = Number(process.env.VA_BENCH_REVOKE_ROUNDS ?? Math.max(1, Math.ceil(220 / Math.max(1, EDGES - 1))));
const API_TOKEN = "bench-edges-api-token-3kq9Zt7vXw2LmP8sRb4YcN6hJd1Fg5";
const LOAD_TOKEN = "bench-edges-load-token-0001";
const RACER_TOKEN = "bench-edges-racer-token-0001";
const PROBE_TOKEN = "bench-edges-probe-token-0001";
const victimToken = (round: number) => `bench-edges-victim-${round}-token`;
const here = dirname(fileURLToPath(import.meta.url));

/** What the load generator is asked to do, and answers. */
type ClientCommand =
  | { op: "open"; targets: { port: number; path: string; count: number }[] }
  | { op: "race"; ports: number[]; perEdge: number; path: string }
  | { op: "race-release" }
  | { op: "close-all" };
interface OpenResult {
  op: "open";
  admitted: number;
  refused: number;
  ms: number;
}
interface RaceResult {
  op: "race";
  admitted: number;
  refused: number;
  hanging: number;
}

if (process.argv[2] === "clients") runClients();
else await main();

// ---------------------------------------------------------------- load generator (its own process)

function runClients(): void {
  const live: Socket[] = [];
  let raced: Socket[] = [];
  process.on("disconnect", () => process.exit(0));
  process.on("message", (command: ClientCommand) => {
    if (command.op === "open") void openAll(command.targets, live).then((r) => process.send!(r));
    else if (command.op === "race")
      void race(command.ports, command.perEdge, command.path).then(({ result, admitted }) => {
        raced = admitted;
        process.send!(result);
      });
    else if (command.op === "race-release") {
      for (const s of raced) s.destroy();
      raced = [];
      process.send!({ op: "race-release" });
    } else {
      for (const s of live) s.destroy();
      live.length = 0;
      process.send!({ op: "close-all" });
    }
  });
}

/** A raw HTTP/1.1 play: resolves with the status code once the head is in (0: no answer in time). */
function play(socket: Socket, port: number, path: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    let head = "";
    const timer = setTimeout(() => finish(0), timeoutMs);
    const finish = (status: number) => {
      clearTimeout(timer);
      socket.removeListener("data", onData);
      socket.on("data", () => {}); // the FLV header and nothing else: drained, not kept
      resolve(status);
    };
    const onData = (chunk: Buffer) => {
      head += chunk.toString("latin1");
      if (head.includes("\r\n")) finish(Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? -1));
    };
    socket.on("data", onData);
    socket.on("error", () => finish(-1));
    socket.on("close", () => finish(-1));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: va-bench-edges\r\n\r\n`);
  });
}

function connected(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Opens every target's plays, 64 in flight at a time per edge; the admitted stay open. */
async function openAll(targets: { port: number; path: string; count: number }[], live: Socket[]): Promise<OpenResult> {
  const started = performance.now();
  let admitted = 0;
  let refused = 0;
  await Promise.all(
    targets.map(async (t) => {
      let next = 0;
      const worker = async () => {
        while (next < t.count) {
          next++;
          const socket = await connected(t.port);
          const status = await play(socket, t.port, t.path, 30_000);
          if (status === 200) {
            admitted++;
            live.push(socket);
          } else {
            refused++;
            socket.destroy();
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(64, t.count) }, worker));
    }),
  );
  return { op: "open", admitted, refused, ms: performance.now() - started };
}

/** Connects perEdge sockets to every edge, then writes every request in one synchronous loop. */
async function race(ports: number[], perEdge: number, path: string): Promise<{ result: RaceResult; admitted: Socket[] }> {
  const sockets = await Promise.all(
    ports.flatMap((port) => Array.from({ length: perEdge }, async () => ({ port, socket: await connected(port) }))),
  );
  const statuses = await Promise.all(sockets.map(({ port, socket }) => play(socket, port, path, 15_000)));
  const admitted = sockets.filter((_, i) => statuses[i] === 200).map((s) => s.socket);
  sockets.forEach((s, i) => statuses[i] !== 200 && s.socket.destroy());
  return {
    result: {
      op: "race",
      admitted: admitted.length,
      refused: statuses.filter((s) => s !== 200 && s !== 0).length,
      hanging: statuses.filter((s) => s === 0).length,
    },
    admitted,
  };
}

// ---------------------------------------------------------------- the bench

interface EdgeProcess {
  index: number;
  nodeId: string;
  child: ChildProcess;
  http: number;
  api: number;
  /** userId → `time` of its session.end lines, for the victims. */
  victimEnds: Map<string, number>;
  tail: string[];
  /** The events of its warning and error lines (level ≥ 40), in order. */
  warnings: string[];
}

async function main(): Promise<void> {
  const children: ChildProcess[] = [];
  const tmp = mkdtempSync(join(tmpdir(), "va-bench-edges-"));
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    rmSync(tmp, { recursive: true, force: true });
  };
  process.on("exit", cleanup);
  for (const signal of ["SIGINT", "SIGTERM"] as const)
    process.on(signal, () => {
      console.error(`\n${signal}: stopping every process`);
      cleanup();
      process.exit(130);
    });
  try {
    await run(children, tmp);
  } catch (error) {
    console.error("cluster-edges bench failed:", error);
    process.exitCode = 1;
  } finally {
    cleanup();
  }
  // Child processes' pipes would keep the loop alive for a moment: the run is over.
  process.exit(process.exitCode ?? 0);
}

async function run(children: ChildProcess[], tmp: string): Promise<void> {
  if (SESSIONS % EDGES !== 0) throw new Error(`VA_BENCH_SESSIONS (${SESSIONS}) must be a multiple of VA_BENCH_EDGES (${EDGES})`);
  const perEdge = SESSIONS / EDGES;
  const victimsOn = (edge: number) => Array.from({ length: REVOKE_ROUNDS }, (_, r) => r).filter((r) => r % EDGES !== edge);
  if (victimsOn(0).length > perEdge) throw new Error("more revocation rounds than sessions per edge");
  console.log(
    `${EDGES} edges, ${SESSIONS} sessions (${perEdge} per edge), quiet window ${QUIET_SEC} s, ${REVOKE_ROUNDS} revocation rounds, ` +
      `${RACE_ROUNDS} race rounds (${RACE_PER_EDGE * EDGES} plays for ${RACE_SLOTS} slots); load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}`,
  );

  const redisPort = await freePort();
  const redis = spawn(
    "redis-server",
    ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tmp, "--maxclients", "10000"],
    { stdio: "ignore" },
  );
  children.push(redis);
  const cli = (...args: string[]) => redisCli(redisPort, args);
  await waitUntil("redis-server", async () => (await cli("PING").catch(() => "")).trim() === "PONG", 10_000);

  const users = [
    { login: "load", tokens: [LOAD_TOKEN], packages: ["*"] },
    { login: "probe", tokens: [PROBE_TOKEN], packages: ["*"] },
    { login: "racer", tokens: [RACER_TOKEN], packages: ["*"], maxConnections: RACE_SLOTS },
    ...Array.from({ length: REVOKE_ROUNDS }, (_, r) => ({ login: `victim-${r}`, tokens: [victimToken(r)], packages: ["*"] })),
  ];
  const startedAt = performance.now();
  const edges = await Promise.all(
    Array.from({ length: EDGES }, (_, i) =>
      startEdge(i, tmp, children, {
        auth: { users },
        cluster: { redis: `redis://127.0.0.1:${redisPort}`, nodeId: `edge-${i}`, timeoutMs: 2000 },
        api: { enabled: true, port: 0, token: API_TOKEN },
        log: { level: "info" },
      }),
    ),
  );
  const readySec = (performance.now() - startedAt) / 1000;
  await Promise.all(
    edges.map((e) => waitUntil(`edge-${e.index} joined`, async () => (await api(e, "GET", "/api/cluster")).json?.redis === "up", 60_000)),
  );
  console.log(`all ${EDGES} edges ready in ${readySec.toFixed(1)} s (started in parallel)`);

  const clients = fork(fileURLToPath(import.meta.url), ["clients"], { execArgv: ["--import", "tsx"] });
  children.push(clients);
  console.log(`started processes: ${children.map((c) => c.pid).join(" ")}`);
  let clientsGone = (_: Error) => {};
  clients.once("exit", (code) => clientsGone(new Error(`the load generator exited (${code})`)));
  const ask = <T>(command: ClientCommand) =>
    new Promise<T>((resolve, reject) => {
      clientsGone = reject;
      clients.once("message", (r) => resolve(r as T));
      clients.send(command);
    });

  // The cheap play holds: a no-publisher HTTP-FLV play on edge 0 is a playing session seen from the last edge.
  const probe = await ask<OpenResult>({
    op: "open",
    targets: [{ port: edges[0]!.http, path: `/live/probe.flv?token=${PROBE_TOKEN}`, count: 1 }],
  });
  if (probe.admitted !== 1) throw new Error("a no-publisher HTTP-FLV play was not admitted");
  await waitUntil(
    `the probe playing, seen from edge-${EDGES - 1}`,
    async () =>
      (
        (await api(edges[EDGES - 1]!, "GET", "/api/sessions?user=probe")).json as { sessions: { state: string; node: string }[] }
      ).sessions.some((s) => s.state === "playing" && s.node === "edge-0"),
    10_000,
  );
  await sleep(2000);
  const stillPlaying = (await api(edges[0]!, "GET", "/api/sessions?user=probe")).json as { total: number };
  if (stillPlaying.total !== 1) throw new Error("the no-publisher play did not stay open");
  await api(edges[0]!, "DELETE", "/api/users/probe/sessions");
  await ask({ op: "close-all" });
  console.log("a no-publisher HTTP-FLV play is admitted, stays open and is listed by every edge: using it");

  // --- before
  await sleep(1000);
  const idleSec = Math.max(1, Math.round(QUIET_SEC / 3));
  const idle0 = await redisFigures(cli);
  await sleep(idleSec * 1000);
  const before = await redisFigures(cli);

  // --- open the sessions
  const targets = edges.flatMap((e) => {
    const victims = victimsOn(e.index);
    return [
      ...victims.map((r) => ({ port: e.http, path: `/live/idle-${e.index}.flv?token=${victimToken(r)}`, count: 1 })),
      { port: e.http, path: `/live/idle-${e.index}.flv?token=${LOAD_TOKEN}`, count: perEdge - victims.length },
    ];
  });
  const opened = await ask<OpenResult>({ op: "open", targets });
  if (opened.admitted !== SESSIONS) throw new Error(`opened ${opened.admitted} of ${SESSIONS} sessions (${opened.refused} refused)`);
  const sessionsInRedis = async () =>
    (await Promise.all(edges.map((e) => cli("HLEN", `{va}:sessions:${e.nodeId}`)))).reduce((sum, n) => sum + Number(n.trim()), 0);
  // Counted in Redis itself (each edge's session hash): the API's list of 10,000 is slow on a loaded machine.
  let seen = 0;
  const allInRedis = await waitUntil(
    () => `${SESSIONS} sessions in Redis (last seen: ${seen})`,
    async () => (seen = await sessionsInRedis()) === SESSIONS,
    30_000,
  ).then(
    () => true,
    () => false,
  );
  const downs = await Promise.all(
    edges.map(async (e) => ((await api(e, "GET", "/api/cluster")).json as { localAdmissions: number }).localAdmissions),
  );
  const localAdmissions = downs.reduce((a, b) => a + b, 0);
  if (!allInRedis) {
    console.log(
      `WARNING: ${seen} of ${SESSIONS} admitted sessions are in Redis; admitted on local counts while Redis was marked down: ${localAdmissions}`,
    );
    for (const e of edges)
      console.log(
        `  edge-${e.index}: ${(await cli("HLEN", `{va}:sessions:${e.nodeId}`)).trim()} in Redis, local admissions ${downs[e.index]}; ${e.warnings.slice(-3).join(" / ")}`,
      );
  }
  const listed = (await api(edges[EDGES - 1]!, "GET", "/api/sessions?limit=1")).json as { total: number };
  console.log(
    `opened ${opened.admitted} sessions in ${(opened.ms / 1000).toFixed(1)} s; edge-${EDGES - 1}'s GET /api/sessions total: ${listed.total}`,
  );
  const after = await redisFigures(cli);

  // --- the quiet window, every session live
  await sleep(QUIET_SEC * 1000);
  const quiet = await redisFigures(cli);
  const liveAfterQuiet = await sessionsInRedis();

  // --- revocation propagation
  const samplesMs: number[] = [];
  /** Per round: API call → the command in the stream (the issuing edge lists the sessions it covers first). */
  const toStreamMs: number[] = [];
  /** Per ended session: the command in the stream (XADD's id is Redis's clock, ms) → session.end there. */
  const fromStreamMs: number[] = [];
  for (let r = 0; r < REVOKE_ROUNDS; r++) {
    const issuer = edges[r % EDGES]!;
    const holders = edges.filter((e) => e !== issuer);
    const calledAt = Date.now();
    const answer = await api(issuer, "DELETE", `/api/users/victim-${r}/sessions`);
    if (answer.status !== 200) throw new Error(`close-user answered ${answer.status}: ${answer.text}`);
    await waitUntil(
      `victim-${r}'s sessions ended on ${holders.length} edges`,
      () => holders.every((e) => e.victimEnds.has(`victim-${r}`)),
      20_000,
    );
    const streamId = (await cli("XREVRANGE", "{va}:commands", "+", "-", "COUNT", "1")).split("\n")[0]!.trim();
    const addedAt = Number(streamId.split("-")[0]);
    toStreamMs.push(addedAt - calledAt);
    for (const e of holders) {
      samplesMs.push(e.victimEnds.get(`victim-${r}`)! - calledAt);
      fromStreamMs.push(e.victimEnds.get(`victim-${r}`)! - addedAt);
    }
  }
  const toStream = percentilesOf(toStreamMs.map((ms) => ms * 1000));
  const fromStream = percentilesOf(fromStreamMs.map((ms) => ms * 1000));
  const revocation = percentilesOf(samplesMs.map((ms) => ms * 1000));

  // --- limit race
  const raceAdmitted: number[] = [];
  const raceRefused: number[] = [];
  let raceHanging = 0;
  for (let r = 0; r < RACE_ROUNDS; r++) {
    const result = await ask<RaceResult>({
      op: "race",
      ports: edges.map((e) => e.http),
      perEdge: RACE_PER_EDGE,
      path: `/live/race.flv?token=${RACER_TOKEN}`,
    });
    raceAdmitted.push(result.admitted);
    raceRefused.push(result.refused);
    raceHanging += result.hanging;
    await ask({ op: "race-release" });
    await waitUntil(
      "the racer's sessions released",
      async () => ((await api(edges[0]!, "GET", "/api/sessions?user=racer&limit=1")).json as { total: number }).total === 0,
      20_000,
    );
  }

  // --- figures
  const k = SESSIONS / 1000;
  const openCpuSec = after.cpuSec - before.cpuSec;
  const idleCpuPerMin = ((before.cpuSec - idle0.cpuSec) / idleSec) * 60;
  const quietCpuPerMin = ((quiet.cpuSec - after.cpuSec) / QUIET_SEC) * 60;
  const scriptsOpen = scriptCalls(after) - scriptCalls(before);
  const callsOpen = allCalls(after) - allCalls(before);
  const idleCallsPerMin = ((allCalls(before) - allCalls(idle0)) / idleSec) * 60;
  const quietCallsPerMin = ((allCalls(quiet) - allCalls(after)) / QUIET_SEC) * 60;
  const quietScriptsPerMin = ((scriptCalls(quiet) - scriptCalls(after)) / QUIET_SEC) * 60;
  const idleScriptsPerMin = ((scriptCalls(before) - scriptCalls(idle0)) / idleSec) * 60;
  const raceExact = raceAdmitted.every((a) => a === RACE_SLOTS) && raceHanging === 0;
  const rows: [string, string, string][] = [
    ["edges ready (parallel start)", `${readySec.toFixed(1)} s`, ""],
    [
      "sessions opened",
      `${opened.admitted} in ${(opened.ms / 1000).toFixed(1)} s`,
      `${seen} in Redis after the opening, ${liveAfterQuiet} after the quiet window; ${localAdmissions} admitted on local counts (Redis marked down)`,
    ],
    [
      "revocation, API call → session.end on the other edge",
      `p50 ${round(revocation.p50Us / 1000, 1)} ms, p99 ${round(revocation.p99Us / 1000, 1)} ms, max ${Math.max(...samplesMs)} ms (${samplesMs.length} sessions)`,
      `target p99 < 200 ms: ${revocation.p99Us / 1000 < 200 ? "met" : "MISSED"}`,
    ],
    [
      "  of which: API call → command in the stream",
      `p50 ${round(toStream.p50Us / 1000, 1)} ms, max ${Math.max(...toStreamMs)} ms (${toStreamMs.length} calls)`,
      "the issuing edge's read of the other edges' sessions and the publish go out together (the publish waits for no answer)",
    ],
    [
      "  and: command in the stream → session.end",
      `p50 ${round(fromStream.p50Us / 1000, 1)} ms, p99 ${round(fromStream.p99Us / 1000, 1)} ms, max ${Math.max(...fromStreamMs)} ms`,
      "each edge's blocking XREAD, then the close",
    ],
    [
      `limit race (${RACE_PER_EDGE * EDGES} plays, ${RACE_SLOTS} slots)`,
      `admitted per round: ${raceAdmitted.join(", ")}; refused: ${raceRefused.join(", ")}; hanging: ${raceHanging}`,
      `exactly ${RACE_SLOTS}: ${raceExact ? "met" : "MISSED"}`,
    ],
    [
      "Redis memory per 1,000 live sessions",
      `${Math.round((after.usedMemory - before.usedMemory) / k)} bytes`,
      `used_memory ${before.usedMemory} → ${after.usedMemory}`,
    ],
    ["Redis CPU per 1,000 admissions (opening)", `${round(openCpuSec / k, 3)} CPU-s`, `${round(openCpuSec, 3)} CPU-s for ${SESSIONS}`],
    [
      "Redis CPU per minute per 1,000 live sessions",
      `${round(quietCpuPerMin / k, 4)} CPU-s/min`,
      `${round(quietCpuPerMin, 3)} CPU-s/min with ${SESSIONS} live vs ${round(idleCpuPerMin, 3)} with none (${EDGES} edges' upkeep)`,
    ],
    [
      "Redis commands per admission",
      `${round(scriptsOpen / SESSIONS, 2)} script calls`,
      `${round(callsOpen / SESSIONS, 2)} commands incl. those run inside scripts`,
    ],
    [
      "Redis commands per live session per minute",
      `${round(quietCallsPerMin / SESSIONS, 4)} (${round((quietCallsPerMin - idleCallsPerMin) / SESSIONS, 4)} over idle edges)`,
      `${round(quietCallsPerMin)} /min with ${SESSIONS} live (${round(quietScriptsPerMin)} script calls), ${round(idleCallsPerMin)} /min with none (${round(idleScriptsPerMin)})`,
    ],
  ];
  const table = markdownTable(rows);
  console.log(`\n${table}`);
  const stamp = new Date().toISOString();
  const block = [
    `### cluster-edges, ${stamp.slice(0, 16).replace("T", " ")} UTC`,
    "",
    `${EDGES} edges and one redis-server on this machine (${SESSIONS} sessions, quiet window ${QUIET_SEC} s); load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")} at the end.`,
    "",
    table,
    "",
    `Redis command deltas over the opening: ${commandLine(before, after)}`,
    `Over the quiet window: ${commandLine(after, quiet)}`,
    "",
  ].join("\n");
  writeDatedResults("cluster-edges", block, new Date(stamp));
  await ask({ op: "close-all" });
  if (!raceExact)
    throw new Error(`the race admitted ${raceAdmitted.join(", ")} (hanging ${raceHanging}), not exactly ${RACE_SLOTS} each round`);
  if (!allInRedis) throw new Error(`${SESSIONS - seen} admitted sessions never reached Redis`);
  if (liveAfterQuiet !== SESSIONS) throw new Error(`${liveAfterQuiet} of ${SESSIONS} sessions were live after the quiet window`);
}

async function startEdge(index: number, tmp: string, children: ChildProcess[], config: Record<string, unknown>): Promise<EdgeProcess> {
  const configFile = join(tmp, `edge-${index}.json`);
  writeFileSync(configFile, JSON.stringify(config));
  const child = spawn(process.execPath, ["--import", "tsx", join(here, "cluster-edge-process.ts"), configFile], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  children.push(child);
  const edge: EdgeProcess = { index, nodeId: `edge-${index}`, child, http: 0, api: 0, victimEnds: new Map(), tail: [], warnings: [] };
  const ready = new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`edge-${index} exited (${code}): ${edge.tail.join("\n")}`)));
    const keep = (line: string) => {
      edge.tail.push(line);
      if (edge.tail.length > 20) edge.tail.shift();
    };
    createInterface({ input: child.stderr! }).on("line", keep);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line.includes('"session.end"') && line.includes('"victim-')) {
        const entry = JSON.parse(line) as { time: number; session: { userId?: string } };
        if (entry.session.userId !== undefined) edge.victimEnds.set(entry.session.userId, entry.time);
      } else if (line.includes('"edge.ready"')) {
        const ports = JSON.parse(line) as { http: number; api: number };
        edge.http = ports.http;
        edge.api = ports.api;
        resolve();
      } else if (!line.includes('"auth.decision"') && !line.includes('"session.end"')) {
        keep(line);
        const entry = /^\{"level":(\d+),"time":(\d+).*?"event":"([^"]+)"/.exec(line);
        if (entry !== null && Number(entry[1]) >= 40) edge.warnings.push(`${entry[3]}@${entry[2]}`);
      }
    });
  });
  const timeout = setTimeout(() => child.kill("SIGKILL"), 180_000);
  await ready;
  clearTimeout(timeout);
  return edge;
}

async function api(edge: EdgeProcess, method: string, path: string): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(`http://127.0.0.1:${edge.api}${path}`, { method, headers: { authorization: `Bearer ${API_TOKEN}` } });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

/** What INFO says of Redis's memory, CPU and per-command calls at one moment. */
interface RedisFigures {
  usedMemory: number;
  cpuSec: number;
  calls: Map<string, number>;
}

async function redisFigures(cli: (...args: string[]) => Promise<string>): Promise<RedisFigures> {
  const info = await cli("INFO", "all");
  const field = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, "m").exec(info)?.[1] ?? NaN);
  const calls = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([a-z_|]+):calls=(\d+)/gm)) calls.set(m[1]!, Number(m[2]));
  return { usedMemory: field("used_memory"), cpuSec: field("used_cpu_user") + field("used_cpu_sys"), calls };
}

/** Calls that run a Lua script (one round trip each, whatever the script does inside). */
function scriptCalls(f: RedisFigures): number {
  return ["evalsha", "eval", "evalsha_ro", "eval_ro", "fcall", "fcall_ro"].reduce((sum, c) => sum + (f.calls.get(c) ?? 0), 0);
}

/** Every call INFO commandstats counts, commands run inside scripts included. */
function allCalls(f: RedisFigures): number {
  return [...f.calls.values()].reduce((a, b) => a + b, 0);
}

/** The commands whose calls changed between two readings, most first. */
function commandLine(from: RedisFigures, to: RedisFigures): string {
  return [...to.calls]
    .map(([name, calls]) => [name, calls - (from.calls.get(name) ?? 0)] as const)
    .filter(([, delta]) => delta > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([name, delta]) => `${name} ${delta}`)
    .join(", ");
}

function redisCli(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile("redis-cli", ["-p", String(port), ...args], { maxBuffer: 16 << 20 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    ),
  );
}

function markdownTable(rows: [string, string, string][]): string {
  const all = [["figure", "measured", "note"] as [string, string, string], ...rows];
  const widths = [0, 1, 2].map((c) => Math.max(...all.map((r) => r[c]!.length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c]!)).join(" | ")} |`;
  return [line(all[0]!), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(line)].join("\n");
}

async function waitUntil(what: string | (() => string), check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (
      await Promise.resolve()
        .then(check)
        .catch(() => false)
    )
      return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === "string" ? what : what()}`);
    await sleep(50);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}
