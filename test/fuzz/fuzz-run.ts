import { randomBytes } from "node:crypto";
import { answer, startStubBackend } from "../helpers/stub-backend.js";
import { caseAt } from "./case-plan.js";
import { CaseOutcome, type CaseViolation } from "./case-outcome.js";
import { ChannelWatcher } from "./channel-watcher.js";
import type { CaseContext, Family } from "./fuzz-case.js";
import { describeExit, FuzzServer } from "./fuzz-server.js";
import { probeHls, probeHttpFlv, probeRtmp, probeWsFlv, type ProbeResult, type ProbeTarget } from "./liveness-probe.js";
import { sleep } from "../helpers/sleep.js";
import { apiFetch } from "../helpers/openapi-check.js";

/** How a fuzz run is bounded and what it checks. */
export interface FuzzOptions {
  seed: number;
  /** Run cases 0, 1, 2, … up to this many (default: until `durationSec`). */
  cases?: number;
  /** Run exactly these case indices (replay), each checked on its own. */
  only?: readonly number[];
  /** Only cases of these families (indices of the others are skipped, not renumbered). */
  families?: readonly Family[];
  /** Time budget for the cases, s (default 150); start-up and the final checks come on top. */
  durationSec?: number;
  /** Cases between two liveness checkpoints (default 5). */
  batchSize?: number;
  /** The final RSS may exceed the baseline by at most this much, MB (default 64). */
  rssSlackMb?: number;
  /** Idle time before the final RSS and disk readings, ms (default 5000). */
  settleMs?: number;
  /** After a crash, find the culprit case by replaying the batch one by one (default true). */
  bisect?: boolean;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Print every case with its answers and notes. */
  verbose?: boolean;
  /** Gets the server's raw output (the test suite's log audit). */
  onServerOutput?: (text: string) => void;
  /** The checkout whose `server/src/main.ts` is run (default: the current directory). */
  serverRoot?: string;
}

/** What one case did. */
export interface CaseRecord {
  index: number;
  family: Family;
  name: string;
  authorized: boolean;
  durationMs: number;
  statuses: number[];
  mediaBytes: number;
  violations: CaseViolation[];
  notes: string[];
}

/** Rules the run checks beyond single answers. */
export const RUN_FAILURE_KINDS = ["crash", "liveness", "injection", "api-lockout", "memory", "disk", "secret-in-log", "harness"] as const;
export type RunFailureKind = (typeof RUN_FAILURE_KINDS)[number];

/** A broken run-level rule, with the cases it is pinned on (several when it could not be narrowed down). */
export interface RunFailure {
  kind: RunFailureKind;
  cases: number[];
  detail: string;
  /** The server's last output lines (a crash's stack trace). */
  tail?: string[];
}

/** Everything a run found, for the summary table and the test's assertions. */
export interface FuzzReport {
  seed: number;
  durationMs: number;
  stoppedBy: "all cases run" | "duration" | "server would not start";
  records: CaseRecord[];
  failures: RunFailure[];
  restarts: number;
  probes: { run: number; failed: number };
  finalProbes: ProbeResult[];
  memory: { baselineMb: number; peakMb: number; finalMb: number; slackMb: number; sinceRestart: boolean } | undefined;
  disk: { baselineBytes: number; finalBytes: number; boundBytes: number } | undefined;
  watcher: { bytes: number; markerHits: number; interruptions: number };
  backendCalls: number;
  errorEvents: Record<string, number>;
}

const CASE_TIMEOUT_MS = 30_000;
/** How often a progress line (cases, RSS, failures) is logged. */
const PROGRESS_EVERY_MS = 15_000;
/** Long enough for a failing statistics flush (every 200 ms in the fuzz config) to take the process down. */
const AFTER_CASE_SETTLE_MS = 450;
/** Statistics growth allowed: a fixed margin (SQLite's WAL alone may reach ~4 MB before a checkpoint) plus this much per case. */
const DISK_BASE_BYTES = 8 * 1024 * 1024;
const DISK_PER_CASE_BYTES = 4 * 1024;

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

/**
 * Runs the fuzz cases against a fresh bundled server process and checks, after every batch and at
 * the end: the process is alive, an authorized viewer still plays, no case got a 5xx or an unrefused
 * answer or media without credentials, nothing was injected into the channel, the operator's API
 * token still works, and at the end RSS and the statistics file are back within their bounds and no
 * credential of the run appeared in the server's output. A crash restarts the server and the run goes
 * on; the crashing case is found by replaying its batch one case at a time.
 */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const durationMs = (options.durationSec ?? 150) * 1000;
  const batchSize = options.only !== undefined ? 1 : Math.max(1, options.batchSize ?? 5);
  const marker = Buffer.from(`FUZZ-INJECT-${randomBytes(8).toString("hex")}`, "latin1");
  const backend = await startStubBackend();
  backend.respond = answer(403);
  const report: FuzzReport = {
    seed: options.seed,
    durationMs: 0,
    stoppedBy: "all cases run",
    records: [],
    failures: [],
    restarts: 0,
    probes: { run: 0, failed: 0 },
    finalProbes: [],
    memory: undefined,
    disk: undefined,
    watcher: { bytes: 0, markerHits: 0, interruptions: 0 },
    backendCalls: 0,
    errorEvents: {},
  };
  const serverOptions = {
    backendUrl: `${backend.base}/check`,
    ...(options.onServerOutput ? { onOutput: options.onServerOutput } : {}),
    ...(options.serverRoot ? { root: options.serverRoot } : {}),
  };
  let server: FuzzServer;
  try {
    server = await FuzzServer.start(serverOptions);
  } catch (error) {
    await backend.close();
    report.failures.push({ kind: "harness", cases: [], detail: (error as Error).message });
    report.stoppedBy = "server would not start";
    return report;
  }
  const target = (s: FuzzServer): ProbeTarget => ({
    httpPort: s.ports.http,
    rtmpPort: s.ports.rtmp,
    app: s.app,
    channel: s.channel,
    token: s.viewerToken,
  });
  const contextOf = (s: FuzzServer): CaseContext => ({
    ports: s.ports,
    app: s.app,
    channel: s.channel,
    viewerToken: s.viewerToken,
    apiToken: s.apiToken,
    securetokenSecret: s.securetokenSecret,
    injectMarker: marker,
  });
  let ctx = contextOf(server);
  const watcher = new ChannelWatcher(target(server), marker);
  let baseline = await measureBaseline(server);
  let peakRss = baseline.rss;
  let baselineDisk = server.statsBytes();
  let sinceRestart = false;
  let casesOnThisServer = 0;
  let consecutiveLivenessFailures = 0;
  let markerHitsSeen = 0;
  let lockout: RunFailure | undefined;
  let lastProgress = Date.now();
  let lockoutChecks = 0;
  const folded = new WeakSet<FuzzServer>();
  const foldServer = (s: FuzzServer) => {
    if (folded.has(s)) return;
    folded.add(s);
    for (const [name, lines] of Object.entries(s.secretLeaks()))
      report.failures.push({ kind: "secret-in-log", cases: [], detail: `the ${name} appeared in ${lines} line(s) of the server's output` });
    for (const [event, count] of Object.entries(s.errorEvents())) report.errorEvents[event] = (report.errorEvents[event] ?? 0) + count;
  };
  const restart = async (why: string): Promise<boolean> => {
    log(`  restarting the server (${why})`);
    watcher.stop();
    foldServer(server);
    await server.stop();
    try {
      // Back as soon as the channel plays over HTTP-FLV; HLS is only probed at the end, long after.
      server = await FuzzServer.start({ ...serverOptions, waitForHls: false });
    } catch (error) {
      report.failures.push({ kind: "harness", cases: [], detail: `restart failed: ${(error as Error).message}` });
      report.stoppedBy = "server would not start";
      return false;
    }
    report.restarts++;
    ctx = contextOf(server);
    baseline = await measureBaseline(server, { firstPlayMs: 30_000, withHls: false, restMs: 1000 });
    watcher.retarget(target(server));
    watcher.start();
    baselineDisk = server.statsBytes();
    sinceRestart = true;
    casesOnThisServer = 0;
    return true;
  };

  const runOne = async (index: number): Promise<CaseRecord> => {
    const fuzzCase = caseAt(options.seed, index);
    const outcome = new CaseOutcome(fuzzCase.authorized);
    const t0 = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        fuzzCase.run(ctx, outcome),
        new Promise(
          (_, reject) => (timer = setTimeout(() => reject(new Error(`case did not finish within ${CASE_TIMEOUT_MS} ms`)), CASE_TIMEOUT_MS)),
        ),
      ]);
    } catch (error) {
      outcome.note(`harness: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
    const record: CaseRecord = {
      index,
      family: fuzzCase.family,
      name: fuzzCase.name,
      authorized: fuzzCase.authorized,
      durationMs: Date.now() - t0,
      statuses: outcome.statuses,
      mediaBytes: outcome.mediaBytes,
      violations: outcome.violations,
      notes: outcome.notes,
    };
    if (options.verbose) log(formatCase(record));
    else for (const v of record.violations) log(`  case ${index} (${record.family}) ${v.kind}: ${v.detail}`);
    return record;
  };

  /** True once the case budget is spent (a replay of chosen cases has none). */
  const outOfTime = () => options.only === undefined && Date.now() - started > durationMs;
  /** Ends the run here: the budget is spent and the server is down, so no restart and no final checks. */
  const stopForTime = () => {
    report.stoppedBy = "duration";
    return false;
  };

  /** After a crash: replays the batch one case at a time on fresh servers to name the culprit(s). */
  const pinCrash = async (batch: readonly number[], exitText: string, tail: string[]): Promise<boolean> => {
    if (batch.length === 1 || options.bisect === false || outOfTime()) {
      const narrowed = batch.length === 1 || options.bisect === false ? "" : "; not narrowed down (out of time)";
      report.failures.push({ kind: "crash", cases: [...batch], detail: `${exitText}${narrowed}`, tail });
      log(`  CRASH after case(s) ${batch.join(", ")}: ${exitText}`);
      return outOfTime() ? stopForTime() : restart("crash");
    }
    if (!(await restart("crash; replaying the batch one case at a time"))) return false;
    let found = false;
    for (const [position, index] of batch.entries()) {
      if (outOfTime()) {
        report.failures.push({
          kind: "crash",
          cases: batch.slice(position),
          detail: `${exitText}; these cases were not replayed (out of time)`,
          tail,
        });
        return true;
      }
      await runOne(index);
      await sleep(AFTER_CASE_SETTLE_MS);
      if (server.alive) continue;
      found = true;
      const exit = `${describeExit(server.exit!)} (reproduced alone)`;
      report.failures.push({ kind: "crash", cases: [index], detail: exit, tail: server.tail(40) });
      log(`  CRASH on case ${index}: ${exit}`);
      if (outOfTime()) return stopForTime();
      if (!(await restart("crash"))) return false;
    }
    if (!found) {
      report.failures.push({ kind: "crash", cases: [...batch], detail: `${exitText}; not reproduced by any case alone`, tail });
      log(`  CRASH after cases ${batch.join(", ")} (not reproduced alone): ${exitText}`);
    }
    return true;
  };

  /** Liveness and side checks after a batch; false when the run cannot go on. */
  const checkpoint = async (batch: readonly number[]): Promise<boolean> => {
    await sleep(AFTER_CASE_SETTLE_MS);
    if (!server.alive) return pinCrash(batch, describeExit(server.exit!), server.tail(40));
    const probe = await probeHttpFlv(target(server));
    report.probes.run++;
    // A refused probe may be the process on its way out: give its exit a moment to arrive.
    if (!probe.ok) await Promise.race([server.exited, sleep(1000)]);
    if (!server.alive) return pinCrash(batch, describeExit(server.exit!), server.tail(40));
    if (!probe.ok) {
      report.probes.failed++;
      consecutiveLivenessFailures++;
      report.failures.push({ kind: "liveness", cases: [...batch], detail: probe.detail });
      log(`  LIVENESS failed after case(s) ${batch.join(", ")}: ${probe.detail}`);
      if (consecutiveLivenessFailures >= 2) {
        consecutiveLivenessFailures = 0;
        return restart("the authorized viewer failed twice in a row");
      }
    } else {
      consecutiveLivenessFailures = 0;
    }
    server.recordChildren();
    const rss = server.rssBytes() ?? 0;
    peakRss = Math.max(peakRss, rss);
    if (Date.now() - lastProgress >= PROGRESS_EVERY_MS) {
      lastProgress = Date.now();
      const bad = report.failures.length + report.records.filter((r) => r.violations.length > 0).length;
      log(`  [${Math.round((Date.now() - started) / 1000)} s] ${report.records.length} cases, RSS ${mb(rss)} MB, ${bad} failure(s) so far`);
    }
    if (watcher.markerHits > markerHitsSeen) {
      report.failures.push({
        kind: "injection",
        cases: [...batch],
        detail: `the authorized watcher received the injection marker ${watcher.markerHits - markerHitsSeen} time(s)`,
      });
      log(`  INJECTION after case(s) ${batch.join(", ")}`);
      markerHitsSeen = watcher.markerHits;
    }
    if (batch.some((i) => report.records.find((r) => r.index === i)?.family === "api")) {
      const status = await apiHealth(server);
      if (status === 200) {
        lockout = undefined;
      } else if (lockout === undefined) {
        lockout = { kind: "api-lockout", cases: [...batch], detail: `the operator's own API token got ${status} after these cases` };
        lockoutChecks = 0;
        report.failures.push(lockout);
        log(`  API LOCKOUT after case(s) ${batch.join(", ")}: ${status}`);
      } else {
        // One failure per lockout, however many checkpoints it lasts.
        lockoutChecks++;
        lockout.detail = `the operator's own API token got ${status} after these cases, and at ${lockoutChecks} later checkpoint(s)`;
      }
    }
    return true;
  };

  watcher.start();
  log(
    `fuzzing pid ${server.pid}: http ${server.ports.http}, rtmp ${server.ports.rtmp}, api ${server.ports.api}; seed ${options.seed}; baseline RSS ${mb(baseline.rss)} MB`,
  );
  let batch: number[] = [];
  const indices = options.only ?? naturals(options.cases);
  let running = true;
  for (const index of indices) {
    if (!running) break;
    if (options.only === undefined && Date.now() - started > durationMs) {
      report.stoppedBy = "duration";
      break;
    }
    const family = caseAt(options.seed, index).family;
    if (options.families !== undefined && !options.families.includes(family)) continue;
    const record = await runOne(index);
    report.records.push(record);
    casesOnThisServer++;
    batch.push(index);
    if (batch.length >= batchSize || !server.alive) {
      running = await checkpoint(batch);
      batch = [];
    }
  }
  if (running && batch.length > 0) running = await checkpoint(batch);

  // Final checks: idle, then memory and disk against the baseline, then every protocol once.
  if (running && server.alive) {
    await sleep(options.settleMs ?? 5000);
    const finalRss = server.rssBytes() ?? 0;
    peakRss = Math.max(peakRss, finalRss);
    const slackMb = options.rssSlackMb ?? 64;
    report.memory = { baselineMb: mb(baseline.rss), peakMb: mb(peakRss), finalMb: mb(finalRss), slackMb, sinceRestart };
    if (finalRss > baseline.rss + slackMb * 1024 * 1024) {
      report.failures.push({
        kind: "memory",
        cases: [],
        detail: `RSS ${mb(finalRss)} MB after ${(options.settleMs ?? 5000) / 1000} s idle; baseline ${mb(baseline.rss)} MB + ${slackMb} MB allowed`,
      });
    }
    const finalDisk = server.statsBytes();
    const boundBytes = baselineDisk + DISK_BASE_BYTES + DISK_PER_CASE_BYTES * casesOnThisServer;
    report.disk = { baselineBytes: baselineDisk, finalBytes: finalDisk, boundBytes };
    if (finalDisk > boundBytes)
      report.failures.push({
        kind: "disk",
        cases: [],
        detail: `statistics database grew from ${mb(baselineDisk)} MB to ${mb(finalDisk)} MB (bound ${mb(boundBytes)} MB)`,
      });
    const t = target(server);
    report.finalProbes = [await probeHttpFlv(t), await probeHls(t), await probeRtmp(t), await probeWsFlv(t)];
    for (const probe of report.finalProbes.filter((p) => !p.ok))
      report.failures.push({ kind: "liveness", cases: [], detail: `final check: ${probe.detail}` });
    if (!server.alive)
      report.failures.push({
        kind: "crash",
        cases: [],
        detail: `during the final checks: ${describeExit(server.exit!)}`,
        tail: server.tail(40),
      });
  }
  watcher.stop();
  if (watcher.markerHits > markerHitsSeen)
    report.failures.push({
      kind: "injection",
      cases: [],
      detail: `the watcher received the injection marker ${watcher.markerHits - markerHitsSeen} time(s) at the end`,
    });
  report.watcher = { bytes: watcher.bytes, markerHits: watcher.markerHits, interruptions: watcher.interruptions };
  await server.stop();
  foldServer(server);
  report.backendCalls = backend.calls.length;
  await backend.close();
  report.durationMs = Date.now() - started;
  return report;
}

/**
 * RSS after a few authorized plays and a short rest: what the server holds when idle with one viewer.
 * The first play may wait `firstPlayMs` for the channel to come on air (after a restart).
 */
async function measureBaseline(
  server: FuzzServer,
  opts: { firstPlayMs?: number; withHls?: boolean; restMs?: number } = {},
): Promise<{ rss: number }> {
  const t = {
    httpPort: server.ports.http,
    rtmpPort: server.ports.rtmp,
    app: server.app,
    channel: server.channel,
    token: server.viewerToken,
  };
  await probeHttpFlv(t, opts.firstPlayMs ?? 6000);
  for (let i = 0; i < 2; i++) await probeHttpFlv(t);
  if (opts.withHls ?? true) await probeHls(t);
  await sleep(opts.restMs ?? 1500);
  return { rss: server.rssBytes() ?? 0 };
}

/** The status the operator's own token gets from `/api/health`. */
async function apiHealth(server: FuzzServer): Promise<number> {
  try {
    const answer = await apiFetch(`http://127.0.0.1:${server.ports.api}/api/health`, {
      headers: { Authorization: `Bearer ${server.apiToken}` },
      signal: AbortSignal.timeout(5000),
    });
    await answer.arrayBuffer();
    return answer.status;
  } catch {
    return 0;
  }
}

function* naturals(limit = Number.POSITIVE_INFINITY): Generator<number> {
  for (let i = 0; i < limit; i++) yield i;
}

/** One case as the verbose log and `--case` replays print it. */
export function formatCase(record: CaseRecord): string {
  const lines = [
    `case ${record.index} [${record.family}${record.authorized ? ", authorized" : ""}] ${record.name} (${record.durationMs} ms)`,
  ];
  lines.push(`    statuses: ${record.statuses.length === 0 ? "-" : record.statuses.join(" ")}; media bytes: ${record.mediaBytes}`);
  for (const note of record.notes) lines.push(`    note: ${note}`);
  for (const v of record.violations) lines.push(`    VIOLATION ${v.kind}: ${v.detail}`);
  return lines.join("\n");
}
