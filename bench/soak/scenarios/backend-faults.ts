// Scenario 1: the auth backend misbehaves while viewers join. For each fault, N viewers (500 by default) ask
// for a playlist with a token of their own (so each asks the backend: no shared verdict), and each must be
// answered within the backend timeout with the action the configuration promises for that fault, and logged.
// The backend is a Smarty middleware (its verdict is in the JSON body, so the body is read and a body that
// trickles counts); the http-request type decides on the status line alone and never waits for a body.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { startLoad } from "../load/load-runner.js";
import { quantile } from "../load/load-results.js";
import { FigureSheet, ms, workDirectory, type ScenarioResult, type SoakOptions } from "../scenario.js";
import { soakServerConfig } from "../soak-config.js";
import { startServerProcess, track, waitFor } from "../server-process.js";
import type { FaultMode } from "../fault-backend.js";

/** What each fault must give (auth.backend: onUnreachable allow; a bad answer denies) and the log event that tells it. */
const EXPECTED: Record<Exclude<FaultMode, "ok">, { status: number; event: string; why: string }> = {
  hang: { status: 200, event: "backend.unreachable", why: "timeout → onUnreachable (allow)" },
  refuse: { status: 200, event: "backend.unreachable", why: "refused → onUnreachable (allow)" },
  reset: { status: 200, event: "backend.unreachable", why: "reset → onUnreachable (allow)" },
  "5xx": { status: 403, event: "backend.error_answer", why: "5xx → deny" },
  garbage: { status: 403, event: "backend.error_answer", why: "unreadable answer → deny" },
  "slow-body": { status: 200, event: "backend.unreachable", why: "body timeout → onUnreachable (allow)" },
};

/**
 * Time an answer may take beyond the backend timeout, on top of the gate's own answer time under the same
 * load (the p99 of the `ok` round, measured first in the same run: on a shared 2-core machine joining
 * viewers alone can take seconds). The rest covers undici's pool, which settles a call aborted while it
 * waits for a connection only once a connection takes it.
 */
const SLACK_MS = 1000;

export async function backendFaultsScenario(options: SoakOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const sheet = new FigureSheet("1 backend faults");
  const work = workDirectory("faults");
  const viewers = options.quick ? 40 : 500;
  const timeoutMs = options.quick ? 1000 : 2000;
  const fault = track(
    spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "../fault-backend.ts"), "0"], {
      stdio: ["pipe", "pipe", "inherit"],
    }),
  );
  const lines = createInterface({ input: fault.stdout! });
  const replies: Record<string, unknown>[] = [];
  lines.on("line", (line) => replies.push(JSON.parse(line) as Record<string, unknown>));
  let server: ReturnType<typeof startServerProcess> | undefined;
  try {
    const backendPort = await waitFor(
      "the fault backend's port",
      () => replies.find((r) => "port" in r)?.port as number | undefined,
      20_000,
    );
    const setup = await soakServerConfig(work.dir, {
      auth: {
        defaultAction: "deny",
        backend: {
          type: "smarty",
          address: `http://127.0.0.1:${backendPort}`,
          onUnreachable: "allow",
          timeoutMs,
          connectTimeoutMs: Math.min(1000, timeoutMs),
        },
      },
    });
    server = startServerProcess(setup.config, setup.file, options.runtime);
    const running = server;
    await waitFor("the server to start", () => (running.events.get("server.started") ? true : undefined));
    // No ffmpeg here: a playlist on disk is what an allowed viewer gets (the gate serves what is in its directory).
    const channelDir = join(setup.hlsDir, "live", "test");
    mkdirSync(channelDir, { recursive: true });
    writeFileSync(
      join(channelDir, "index.m3u8"),
      "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:2.000,\nseg_1.ts\n",
    );
    writeFileSync(join(channelDir, "seg_1.ts"), Buffer.alloc(188 * 100));
    sheet.info("viewers per fault, backend timeout", `${viewers}, ${timeoutMs} ms (connect ${Math.min(1000, timeoutMs)} ms)`);
    let offset = 0;
    const joinRound = async (mode: FaultMode) => {
      const acks = replies.length;
      fault.stdin!.write(`${mode}\n`);
      await waitFor(`fault mode ${mode}`, () => (replies.slice(acks).some((r) => r.mode === mode) ? true : undefined), 10_000);
      const load = startLoad(
        {
          port: setup.ports.http,
          offset,
          rampMs: options.quick ? 300 : 1000,
          durationMs: 0,
          join: { viewers, path: `/live/test/index.m3u8?token=${mode}-{i}`, timeoutMs: timeoutMs + 30_000 },
        },
        options.loadProcesses,
      );
      offset += 10_000_000;
      return load.result;
    };
    const baseline = await joinRound("ok");
    const gateP99 = quantile(baseline.joinMs, 0.99);
    const allowed = timeoutMs + gateP99 + SLACK_MS;
    sheet.check(
      "ok (baseline): answered 200, p99 = the gate's own time",
      `${baseline.joinStatuses["200"] ?? 0}/${viewers}, ${ms(gateP99)}`,
      `${viewers}/${viewers}`,
      (baseline.joinStatuses["200"] ?? 0) === viewers,
    );
    for (const mode of Object.keys(EXPECTED) as (keyof typeof EXPECTED)[]) {
      const expected = EXPECTED[mode];
      const eventsBefore = running.events.get(expected.event) ?? 0;
      const allBefore = new Map(running.events);
      const result = await joinRound(mode);
      // Log lines are written as the answers go out; give the pipe a moment to deliver the last ones.
      await waitFor(
        `${mode}: log lines`,
        () => ((running.events.get(expected.event) ?? 0) - eventsBefore >= viewers ? true : undefined),
        5000,
      ).catch(() => undefined);
      const logged = (running.events.get(expected.event) ?? 0) - eventsBefore;
      const right = result.joinStatuses[String(expected.status)] ?? 0;
      const slowest = Math.max(0, ...result.joinMs);
      sheet.check(
        `${mode}: answered ${expected.status} (${expected.why})`,
        `${right}/${viewers}`,
        `${viewers}/${viewers}`,
        right === viewers,
      );
      sheet.check(
        `${mode}: slowest answer (p50)`,
        `${ms(slowest)} (${ms(quantile(result.joinMs, 0.5))})`,
        `≤ timeout + baseline p99 + ${SLACK_MS} = ${ms(allowed)}`,
        slowest <= allowed,
      );
      sheet.check(`${mode}: ${expected.event} lines`, logged, `≥ ${viewers}`, logged >= viewers);
      const backendEvents = [...running.events]
        .filter(([e, n]) => e.startsWith("backend.") && n > (allBefore.get(e) ?? 0))
        .map(([e, n]) => `${e} ${n - (allBefore.get(e) ?? 0)}`);
      if (backendEvents.length !== 1) sheet.notes.push(`${mode}: backend log events ${backendEvents.join(", ") || "none"}`);
      if (right !== viewers)
        sheet.notes.push(`${mode}: statuses ${JSON.stringify(result.joinStatuses)}, errors ${JSON.stringify(result.errors)}`);
    }
    sheet.info("server error-level lines in all", running.errorLines());
  } catch (error) {
    sheet.fail(`aborted: ${(error as Error).message}${server ? `\n${server.tail().split("\n").slice(-10).join("\n")}` : ""}`);
  } finally {
    fault.stdin!.end();
    if (fault.exitCode === null) fault.kill("SIGTERM");
    await server?.stop("SIGTERM");
    work.cleanup();
  }
  return { name: sheet.scenario, passed: sheet.passed, figures: sheet.figures, notes: sheet.notes, seconds: (Date.now() - started) / 1000 };
}
