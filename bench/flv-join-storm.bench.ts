// Join storm: 1,500 HTTP-FLV and then 1,500 WS-FLV viewers opening within 2 s on one NMS 4.4.3 app with a
// real ffmpeg publisher, stock NMS against NMS with the plugin attached (a built-in user's token decides,
// no backend), in alternating rounds on the same running server. The viewers run in a process of their own
// (this file, started with `clients`): each records the time from its connect to the first media byte,
// or a refusal, or nothing (hanging) within 15 s, and then leaves. Prints first-byte p50/p99 per side and the ratios
// against the targets (p50 ≤ 1.5×, p99 ≤ 1.3× stock NMS's, no viewer left hanging), and writes them to
// bench/results/flv-join-storm-<date>.md.
// VA_BENCH_STORM_VIEWERS / VA_BENCH_STORM_ROUNDS change the size. VA_BENCH_STORM_PHASES=1 also prints, per
// storm, where the wait went (bench/storm-phases.ts): connect → NMS's request event → the stream's postPlay
// (the plugin's hold) → the release into NMS's own postPlay → the client's first byte.
import http from "node:http";
import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { WebSocket } from "ws";
import { StormPhases, wallMs, type ClientTimes } from "./storm-phases.js";

const VIEWERS = Number(process.env.VA_BENCH_STORM_VIEWERS ?? 1500);
const ROUNDS = Number(process.env.VA_BENCH_STORM_ROUNDS ?? 4);
const SPREAD_MS = 2000;
const HANG_MS = 15_000;
const TOKEN = "bench-storm-token";
const TARGETS = { p50Factor: 1.5, p99Factor: 1.3 };
const PHASES = process.env.VA_BENCH_STORM_PHASES === "1";

type Kind = "http" | "ws";
/** One storm as the client process saw it. */
interface StormResult {
  firstByteMs: number[];
  refused: number;
  hanging: number;
  /** Each viewer's port, connect and first byte on the wall clock (with PHASES). */
  clients: ClientTimes[];
}

if (process.argv[2] === "clients") {
  process.on("message", (message: { port: number; kind: Kind; query: string; viewers: number }) => {
    void storm(message.port, message.kind, message.query, message.viewers).then((result) => process.send!(result));
  });
} else {
  await main();
}

/** Opens the viewers evenly over SPREAD_MS; each settles at its first byte, a refusal, or HANG_MS. */
async function storm(port: number, kind: Kind, query: string, count: number): Promise<StormResult> {
  const result: StormResult = { firstByteMs: [], refused: 0, hanging: 0, clients: [] };
  const viewers: Promise<void>[] = [];
  const openedAt = performance.now();
  for (let i = 0; i < count; i++) {
    // Evenly over SPREAD_MS, against the clock (timers on a busy machine fire late and would stretch the storm).
    const dueMs = (i * SPREAD_MS) / count - (performance.now() - openedAt);
    if (dueMs > 1) await new Promise((r) => setTimeout(r, dueMs));
    viewers.push(
      new Promise<void>((resolve) => {
        const started = performance.now();
        const connectAt = wallMs();
        let localPort = 0;
        let settled = false;
        let close = () => {};
        const settle = (outcome: "byte" | "refused" | "hanging") => {
          if (settled) return;
          settled = true;
          clearTimeout(hang);
          if (outcome === "byte") {
            result.firstByteMs.push(performance.now() - started);
            if (PHASES) result.clients.push({ port: localPort, connectAt, firstByteAt: wallMs() });
          } else result[outcome]++;
          // Measured: the viewer leaves, so 1,500 media fan-outs do not load this process or the server past the join.
          close();
          resolve();
        };
        const hang = setTimeout(() => settle("hanging"), HANG_MS);
        if (kind === "http") {
          const req = http.get({ host: "127.0.0.1", port, path: `/live/storm.flv${query}`, agent: false }, (res) => {
            if (res.statusCode !== 200) return settle("refused");
            res.on("data", () => settle("byte"));
            res.on("end", () => settle("refused"));
          });
          req.on("socket", (socket) => socket.once("connect", () => (localPort = socket.localPort ?? 0)));
          req.on("error", () => settle("refused"));
          close = () => req.destroy();
        } else {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/live/storm.flv${query}`);
          ws.on("upgrade", (res) => (localPort = res.socket.localPort ?? 0));
          ws.on("message", () => settle("byte"));
          ws.on("close", () => settle("refused"));
          ws.on("error", () => settle("refused"));
          close = () => ws.terminate();
        }
      }),
    );
  }
  await Promise.all(viewers);
  return result;
}

async function main(): Promise<void> {
  const { default: NodeMediaServer } = await import("node-media-server");
  const { nmsLogger, Context } = await import("../test/helpers/nms4-internals.js");
  const { runNms, attachViewerAuth } = await import("../plugin/src/index.js");
  const { publishTestPattern } = await import("../test/helpers/ffmpeg.js");
  const { report, round } = await import("./bench-stats.js");
  const { reportBlock, writeDatedResults } = await import("./results-file.js");

  const store = mkdtempSync(join(tmpdir(), "va-bench-storm-"));
  const nms = new NodeMediaServer({ bind: "127.0.0.1", rtmp: { port: "0" }, http: { port: "0" }, store: { path: store } });
  nmsLogger.level = "error"; // NMS's constructor sets "debug": 3,000 play lines would be part of the storm
  const ports = await runNms(nms);
  const phases = PHASES ? new StormPhases() : undefined;
  phases?.watchServer(nms.httpServer.httpServer!);
  const publisher = publishTestPattern(`rtmp://127.0.0.1:${ports.rtmp}/live/storm`);
  const clients = fork(new URL(import.meta.url).pathname, ["clients"], { execArgv: ["--import", "tsx"] });
  const runStorm = (kind: Kind, query: string, viewers = VIEWERS) =>
    new Promise<StormResult>((resolve) => {
      clients.once("message", (r) => resolve(r as StormResult));
      clients.send({ port: ports.http, kind, query, viewers });
    });
  try {
    // On air: one viewer gets media.
    for (let tries = 0; ; tries++) {
      const probe = await runStorm("http", "", 1);
      if (probe.firstByteMs.length === 1) break;
      if (tries > 20) throw new Error("the publisher never went on air");
      await new Promise((r) => setTimeout(r, 500));
    }
    const broadcast = Context.broadcasts.get("/live/storm");
    if (phases !== undefined && broadcast !== undefined) phases.watchRelease(broadcast);
    const results = {
      http: { stock: [] as StormResult[], gated: [] as StormResult[] },
      ws: { stock: [] as StormResult[], gated: [] as StormResult[] },
    };
    // Round 0 warms both sides up (the first storm of a process is its compile storm) and is not counted.
    for (let r = 0; r <= ROUNDS; r++) {
      for (const side of r % 2 === 0 ? (["stock", "gated"] as const) : (["gated", "stock"] as const)) {
        const auth =
          side === "gated"
            ? attachViewerAuth(nms, {
                log: { level: "silent", nmsLevel: "error" },
                auth: { defaultAction: "deny", users: [{ login: "bench", tokens: [TOKEN], packages: ["*"] }] },
              })
            : undefined;
        const query = side === "gated" ? `?token=${TOKEN}` : "";
        const unwatch = phases !== undefined && broadcast !== undefined ? phases.watchEntry(broadcast) : undefined;
        for (const kind of ["http", "ws"] as const) {
          phases?.clear();
          const result = await runStorm(kind, query);
          if (r > 0) results[kind][side].push(result);
          if (r > 0 && phases !== undefined) report(`phases r${r} ${side} ${kind} (p50/p99 ms)`, phases.summary(result.clients));
          await new Promise((r) => setTimeout(r, 2000)); // the closed viewers' sessions end
        }
        unwatch?.();
        await auth?.detach();
      }
    }
    for (const kind of ["http", "ws"] as const) {
      const name = kind === "http" ? "HTTP-FLV" : "WS-FLV";
      const pick = (side: "stock" | "gated") => {
        const rounds = results[kind][side];
        const all = rounds.flatMap((x) => x.firstByteMs).sort((a, b) => a - b);
        const q = (p: number) => all[Math.min(all.length - 1, Math.floor(p * all.length))] ?? NaN;
        return {
          p50: q(0.5),
          p99: q(0.99),
          refused: rounds.reduce((a, x) => a + x.refused, 0),
          hanging: rounds.reduce((a, x) => a + x.hanging, 0),
          perRound: rounds.map((x) => {
            const s = [...x.firstByteMs].sort((a, b) => a - b);
            return `${round(s[Math.floor(0.5 * s.length)] ?? NaN, 0)}/${round(s[Math.floor(0.99 * s.length)] ?? NaN, 0)}`;
          }),
        };
      };
      const stock = pick("stock");
      const gated = pick("gated");
      const met = (ok: boolean) => (ok ? "met" : "NOT met");
      report(`${name} join storm, stock NMS 4.4.3`, {
        viewers: VIEWERS,
        p50Ms: round(stock.p50, 0),
        p99Ms: round(stock.p99, 0),
        refused: stock.refused,
        hanging: stock.hanging,
        roundsP50P99: stock.perRound.join(" "),
      });
      report(`${name} join storm, with the plugin`, {
        viewers: VIEWERS,
        p50Ms: round(gated.p50, 0),
        p99Ms: round(gated.p99, 0),
        refused: gated.refused,
        hanging: gated.hanging,
        roundsP50P99: gated.perRound.join(" "),
        p50VsStock: round(gated.p50 / stock.p50, 2),
        [`p50<=${TARGETS.p50Factor}x`]: met(gated.p50 <= TARGETS.p50Factor * stock.p50),
        p99VsStock: round(gated.p99 / stock.p99, 2),
        [`p99<=${TARGETS.p99Factor}x`]: met(gated.p99 <= TARGETS.p99Factor * stock.p99),
        noneHanging: met(gated.hanging === 0),
      });
    }
    writeDatedResults(
      "flv-join-storm",
      reportBlock("flv-join-storm", `${VIEWERS} viewers within ${SPREAD_MS / 1000} s, ${ROUNDS} rounds after a warm-up, NMS 4.4.3`),
    );
  } finally {
    phases?.close();
    clients.kill();
    publisher.kill("SIGKILL");
    await nms.stop();
    rmSync(store, { recursive: true, force: true });
  }
  process.exit(0);
}
