// A load generator process: the orchestrator (run-soak.ts) spawns one or more, never runs the load in its
// own or the server's process. The spec comes as JSON in argv[2]; progress and the result go to stdout as
// JSON lines; a "stop" line on stdin ends every viewer at once (the result follows).
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { HlsPlayer, type HlsTarget } from "./hls-player.js";
import { watchFlv } from "./flv-viewer.js";
import { RawHttpConnection } from "./raw-http-connection.js";
import { countInto, emptyResult } from "./load-results.js";

/** What one load process does. `{i}` in a path is replaced by the viewer's number (offset + index). */
export interface LoadSpec {
  port: number;
  /** Numbers viewers from here, so that several processes give distinct tokens. */
  offset: number;
  rampMs: number;
  /** How long the viewers stay after the ramp (the whole run ends at rampMs + durationMs). */
  durationMs: number;
  hls?: { viewers: number; target: HlsTarget; startSegments: number; churn?: Churn };
  flv?: { viewers: number; path: string; churn?: Churn };
  /** Viewers that ask once (a playlist) and leave: answered status and latency only. */
  join?: { viewers: number; path: string; timeoutMs: number };
}

/** Each viewer leaves after a random life in [minMs, maxMs] and a new one takes its place. */
export interface Churn {
  minMs: number;
  maxMs: number;
}

const spec = JSON.parse(process.argv[2] ?? "{}") as LoadSpec;
const result = emptyResult();
const stopSignal = { stopped: false };
const players = new Set<HlsPlayer>();
let nextNumber = spec.offset;
let active = 0;
const startedAt = Date.now();
const endAt = startedAt + spec.rampMs + spec.durationMs;
const loopDelay = monitorEventLoopDelay({ resolution: 20 });
loopDelay.enable();

createInterface({ input: process.stdin }).on("line", (line) => {
  if (line.trim() !== "stop") return;
  stopSignal.stopped = true;
  for (const p of players) p.stop();
});

const emit = (event: string, fields: object) => process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
process.stdout.on("error", () => process.exit(1)); // the orchestrator is gone
const progress = setInterval(() => emit("progress", { joined: result.joined, active, errors: result.errors }), 1000);

/** One viewer slot: a viewer, and with churn its successors, until the run ends. */
async function slot(kind: "hls" | "flv" | "join", delayMs: number): Promise<void> {
  await new Promise((r) => setTimeout(r, delayMs));
  const churn = kind === "join" ? undefined : spec[kind]?.churn;
  do {
    // A one-request viewer always asks, however late its turn comes on a loaded machine.
    if (stopSignal.stopped || (kind !== "join" && Date.now() >= endAt)) return;
    const life = churn === undefined ? Infinity : churn.minMs + Math.random() * (churn.maxMs - churn.minMs);
    const until = Math.min(endAt, Date.now() + life);
    const n = nextNumber++;
    active++;
    try {
      await viewer(kind, n, until);
    } finally {
      active--;
    }
  } while (churn !== undefined);
}

async function viewer(kind: "hls" | "flv" | "join", n: number, until: number): Promise<void> {
  if (kind === "hls") {
    const target = spec.hls!.target;
    const player = new HlsPlayer(
      target.kind === "gate" ? { ...target, masterPath: target.masterPath.replaceAll("{i}", String(n)) } : target,
      result,
    );
    players.add(player);
    await player.play(until, spec.hls!.startSegments);
    players.delete(player);
    return;
  }
  if (kind === "flv") {
    await watchFlv(spec.port, spec.flv!.path.replaceAll("{i}", String(n)), until, result, stopSignal);
    return;
  }
  const conn = new RawHttpConnection(spec.port);
  const sentAt = Date.now();
  try {
    const answer = await conn.get(spec.join!.path.replaceAll("{i}", String(n)), false, spec.join!.timeoutMs);
    countInto(result.joinStatuses, String(answer.status));
    if (answer.status === 200) result.joined++;
  } catch (error) {
    countInto(result.joinStatuses, "0");
    countInto(result.errors, `join-${(error as { code?: string }).code ?? (error as Error).message}`);
  } finally {
    result.joinMs.push(Date.now() - sentAt);
    conn.close();
  }
}

const slots: Promise<void>[] = [];
const kinds: ["hls" | "flv" | "join", number][] = [
  ["hls", spec.hls?.viewers ?? 0],
  ["flv", spec.flv?.viewers ?? 0],
  ["join", spec.join?.viewers ?? 0],
];
const total = kinds.reduce((a, [, n]) => a + n, 0);
let index = 0;
for (const [kind, count] of kinds) {
  for (let i = 0; i < count; i++, index++) slots.push(slot(kind, total <= 1 ? 0 : (spec.rampMs * index) / total));
}
await Promise.all(slots);
clearInterval(progress);
result.generatorCpuSeconds = (process.cpuUsage().user + process.cpuUsage().system) / 1e6;
result.generatorLoopDelayP99Ms = loopDelay.percentile(99) / 1e6;
// Tenths of a millisecond are plenty, and keep the result line short.
const tenths = (values: number[]) => values.map((v) => Math.round(v * 10) / 10);
Object.assign(result, {
  segmentMs: tenths(result.segmentMs),
  playlistMs: tenths(result.playlistMs),
  keyMs: tenths(result.keyMs),
  joinMs: tenths(result.joinMs),
});
// A pipe is written asynchronously: exit only once the result line is out.
process.stdout.write(`${JSON.stringify({ event: "result", result })}\n`, () => process.exit(0));
