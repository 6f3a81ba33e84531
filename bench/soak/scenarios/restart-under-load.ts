// Scenario 2: restart under load. N live sessions (HLS, and some HTTP-FLV) → SIGTERM: every session gets a
// ledger row with the stop reason, ffmpeg ends, exit 0. Restart on the same ports; load again with FLV
// viewers coming and going → SIGKILL: the ffmpeg children end within 5 s (their lifeline), the ledger has
// every session that ended more than a second before the kill, and the next start records the sessions
// that were live. A third start on the same ports serves viewers.
import { join } from "node:path";
import { descendantsOf, isRunning } from "../../../test/helpers/process-tree.js";
import { startLoad, type RunningLoad } from "../load/load-runner.js";
import { FigureSheet, ms, workDirectory, type ScenarioResult, type SoakOptions } from "../scenario.js";
import { API_TOKEN, smallChannel, soakServerConfig, type SoakServerConfig } from "../soak-config.js";
import { startServerProcess, waitFor, waitForPlaylist, type ServerProcess } from "../server-process.js";
import { ledgerRows, shutdownReason, tally } from "../ledger-reader.js";
import { RawHttpConnection } from "../load/raw-http-connection.js";

/** ffmpeg children must be gone this long after a SIGKILL of the server (a supervisor restarts into a clean slate). */
const CHILDREN_GONE_MS = 5000;
/** The ledger may lose the last second of accounting; a loaded 2-core machine gets half a second more. */
const LEDGER_LOSS_MS = 1000;
const LEDGER_SLACK_MS = 500;

export async function restartScenario(options: SoakOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const sheet = new FigureSheet("2 restart under load");
  const work = workDirectory("restart");
  const hls = options.quick ? 40 : 450;
  const flv = options.quick ? 10 : 50;
  const total = hls + flv;
  const rampMs = options.quick ? 2000 : 10_000;
  const setup = await soakServerConfig(work.dir, { channels: [smallChannel()] });
  const ledger = join(setup.dataDir, "stats.sqlite");
  const servers: ServerProcess[] = [];
  const loads: RunningLoad[] = [];
  const start = async () => {
    const server = startServerProcess(setup.config, setup.file, options.runtime);
    servers.push(server);
    // After start (which clears the HLS directory), so that the last run's playlist does not count.
    await waitFor("the server to start", () => (server.events.get("server.started") ? true : undefined));
    await waitForPlaylist(setup.hlsDir, "live", "test", 2);
    return server;
  };
  const load = (spec: { churn?: boolean }) => {
    const running = startLoad(
      {
        port: setup.ports.http,
        offset: 0,
        rampMs,
        durationMs: 600_000,
        hls: {
          viewers: hls,
          startSegments: 1,
          target: { kind: "gate", port: setup.ports.http, masterPath: "/live/test/index.m3u8?token=demo" },
        },
        // With churn these come and go, so the ledger has sessions ending all the time up to the kill.
        flv: { viewers: flv, path: "/live/test.flv?token=demo", ...(spec.churn ? { churn: { minMs: 1000, maxMs: 3000 } } : {}) },
      },
      options.loadProcesses,
    );
    loads.push(running);
    return running;
  };
  try {
    sheet.info("live sessions (HLS + HTTP-FLV)", `${total} (${hls} + ${flv})`);
    // 1. SIGTERM with every session live.
    let server = await start();
    let running = load({});
    await waitForSessions(setup, running, total);
    const children = descendantsOf(server.pid);
    const stopStarted = Date.now();
    const stopped = await server.stop("SIGTERM", 60_000);
    running.stop();
    await running.result.catch(() => undefined);
    const reason = shutdownReason();
    const rows = ledgerRows(ledger).filter((r) => r.started_at >= stopStarted - 600_000);
    const byReason = tally(rows.map((r) => r.end_reason));
    sheet.check("SIGTERM: exit code, time", `${stopped.code ?? stopped.signal}, ${ms(stopped.ms)}`, "0", stopped.code === 0);
    sheet.check(`SIGTERM: ledger rows with reason ${reason}`, `${byReason[reason] ?? 0}`, `≥ ${total}`, (byReason[reason] ?? 0) >= total);
    sheet.info("SIGTERM: ledger rows by reason", JSON.stringify(byReason));
    if (reason !== "shutdown") sheet.notes.push("this build has no `shutdown` end reason: the stop reason checked is `server-stopped`");
    const flvBytes = rows.filter((r) => r.protocol === "http-flv" && r.end_reason === reason).map((r) => r.bytes_out);
    sheet.check(
      "SIGTERM: FLV rows with bytes counted",
      `${flvBytes.filter((b) => b > 0).length}/${flvBytes.length}`,
      `${flv}/${flv}`,
      flvBytes.filter((b) => b > 0).length >= flv,
    );
    sheet.check(
      "SIGTERM: ffmpeg children left",
      children.filter(isRunning).length,
      "0",
      children.filter(isRunning).length === 0 && children.length > 0,
    );

    // 2. Restart on the same ports, load with FLV churn, SIGKILL.
    const restartAt = Date.now();
    server = await start();
    sheet.check("restart after SIGTERM, same ports: on air in", ms(Date.now() - restartAt), "≤ 30000 ms", true);
    running = load({ churn: true });
    await waitForSessions(setup, running, total);
    await new Promise((r) => setTimeout(r, options.quick ? 3000 : 6000)); // sessions end and are flushed meanwhile
    const killChildren = descendantsOf(server.pid);
    const killedAt = Date.now();
    server.proc.kill("SIGKILL");
    const goneMs = await waitFor(
      "ffmpeg children to end",
      () => (killChildren.some(isRunning) ? undefined : Date.now() - killedAt),
      20_000,
    ).catch(() => Infinity);
    await server.exited;
    running.stop();
    const killLoad = await running.result.catch(() => undefined);
    sheet.check(
      "SIGKILL: ffmpeg children gone in",
      `${ms(goneMs)} (${killChildren.length} processes)`,
      `≤ ${CHILDREN_GONE_MS} ms`,
      goneMs <= CHILDREN_GONE_MS && killChildren.length > 0,
    );
    const before = ledgerRows(ledger);
    const beforeIds = new Set(before.map((r) => r.id));
    const leftEarly = (killLoad?.flvLeftAt ?? []).filter((t) => t <= killedAt - LEDGER_LOSS_MS).length;
    const leftRows = before.filter((r) => r.protocol === "http-flv" && r.end_reason === "viewer-left" && r.started_at >= restartAt).length;
    sheet.check(
      "SIGKILL: FLV viewers who left > 1 s before the kill / their ledger rows",
      `${leftEarly} / ${leftRows}`,
      "rows ≥ viewers",
      leftRows >= leftEarly && leftEarly > 0,
    );

    // 3. Restart after the crash: the sessions live at the kill are recorded from the heartbeat.
    const crashRestartAt = Date.now();
    server = await start();
    sheet.check("restart after SIGKILL, same ports: on air in", ms(Date.now() - crashRestartAt), "≤ 30000 ms", true);
    await waitFor("a viewer to be served after the crash", async () => {
      const conn = new RawHttpConnection(setup.ports.http);
      try {
        return (await conn.get("/live/test/index.m3u8?token=demo", false, 5000)).status === 200 ? true : undefined;
      } catch {
        return undefined;
      } finally {
        conn.close();
      }
    });
    sheet.check("restart after SIGKILL: a new viewer served", "200", "200", true);
    const recovered = ledgerRows(ledger).filter(
      (r) => !beforeIds.has(r.id) && r.end_reason === "server-stopped" && r.started_at >= restartAt,
    );
    const recoveredFlv = recovered.filter((r) => r.protocol === "http-flv");
    const worstLagMs = Math.max(0, ...recoveredFlv.map((r) => killedAt - r.ended_at));
    // The HLS viewers stay for the whole load, so every one of them was live at the kill; the FLV viewers
    // come and go, so how many were live at the last heartbeat varies (their lag is checked instead).
    const recoveredHls = recovered.filter((r) => r.protocol === "hls").length;
    sheet.check("SIGKILL: live HLS sessions recorded at the next start", recoveredHls, `≥ ${hls}`, recoveredHls >= hls);
    sheet.info("SIGKILL: live FLV sessions recorded at the next start", recoveredFlv.length);
    sheet.check(
      "SIGKILL: FLV accounting lost (kill − last heartbeat, worst)",
      ms(worstLagMs),
      `≤ ${LEDGER_LOSS_MS} ms (+${LEDGER_SLACK_MS} ms slack)`,
      recoveredFlv.length > 0 && worstLagMs <= LEDGER_LOSS_MS + LEDGER_SLACK_MS,
    );
    sheet.info("SIGKILL: stats.recovered logged at the next start", server.events.get("stats.recovered") ?? 0);
  } catch (error) {
    const last = servers.at(-1);
    sheet.fail(`aborted: ${(error as Error).message}${last ? `\n${last.tail().split("\n").slice(-10).join("\n")}` : ""}`);
  } finally {
    for (const l of loads) l.kill();
    for (const s of servers) await s.stop("SIGTERM");
    work.cleanup();
  }
  return { name: sheet.scenario, passed: sheet.passed, figures: sheet.figures, notes: sheet.notes, seconds: (Date.now() - started) / 1000 };
}

/** Waits until the load has joined `total` viewers and the server counts that many live sessions. */
async function waitForSessions(setup: SoakServerConfig, running: RunningLoad, total: number): Promise<void> {
  await waitFor(`${total} viewers to join`, () => (running.progress().joined >= total ? true : undefined), 90_000);
  await waitFor(
    `${total} live sessions on the server`,
    async () => {
      const answer = await fetch(`http://127.0.0.1:${setup.ports.api}/api/health`, {
        headers: { Authorization: `Bearer ${API_TOKEN}` },
      }).catch(() => null);
      const body = answer?.ok ? ((await answer.json()) as { liveSessions: number }) : undefined;
      return body !== undefined && body.liveSessions >= total ? true : undefined;
    },
    30_000,
  );
}
