// Scenario 4: soak. N viewers (200 by default; HLS and some HTTP-FLV, each leaving after a while and replaced
// by a new one, so sessions open and close all along) for D minutes, with the server's resident memory and
// open file descriptors sampled every 10 s. Fails when either grows past the tolerance after the warm-up.
import { startLoad } from "../load/load-runner.js";
import { totalErrors } from "../load/load-results.js";
import { FigureSheet, percent, workDirectory, type ScenarioResult, type SoakOptions } from "../scenario.js";
import { smallChannel, soakServerConfig } from "../soak-config.js";
import { sampleProcess, startServerProcess, waitFor, waitForPlaylist } from "../server-process.js";

/**
 * Growth allowed from the end of the warm-up (the first quarter of the run: caches, JIT and pools fill) to
 * the end: memory 20 % of its post-warm-up size or 32 MiB, whichever is more; descriptors 10 plus a tenth of
 * the viewers (each viewer holds one or two sockets, and churn changes how many are open at a sample).
 */
const RSS_TOLERANCE = { fraction: 0.2, minBytes: 32 * 1024 * 1024 };
const fdTolerance = (viewers: number) => 10 + Math.ceil(viewers / 10);
/** Descriptors the idle server may hold after the load beyond what it held before it (a log file rotated, a pool connection). */
const IDLE_FD_TOLERANCE = 5;
/** hls.segmentCacheBytes of the soaked server (see below). */
const SEGMENT_CACHE_BYTES = 4 * 1024 * 1024;

export async function soakScenario(options: SoakOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const sheet = new FigureSheet("4 soak");
  const work = workDirectory("soak");
  const viewers = options.quick ? 30 : options.soakViewers;
  const flv = Math.max(1, Math.round(viewers / 10));
  const durationMs = options.quick ? 20_000 : options.minutes * 60_000;
  const everyMs = options.quick ? 2000 : 10_000;
  // The HLS hot-file cache may fill up to its bound (64 MiB by default) with segments ffmpeg has already
  // deleted (a file leaves it when asked for again or pushed out): a leak smaller than that would hide
  // behind it. 4 MiB holds this channel's live window many times over.
  const setup = await soakServerConfig(work.dir, { channels: [smallChannel()], hls: { segmentCacheBytes: SEGMENT_CACHE_BYTES } });
  const server = startServerProcess(setup.config, setup.file, options.runtime);
  try {
    await waitFor("the server to start", () => (server.events.get("server.started") ? true : undefined));
    await waitForPlaylist(setup.hlsDir, "live", "test", 2);
    const idleBefore = sampleProcess(server.pid);
    const rampMs = options.quick ? 2000 : 20_000;
    const life = options.quick ? { minMs: 3000, maxMs: 8000 } : { minMs: 30_000, maxMs: 120_000 };
    const load = startLoad(
      {
        port: setup.ports.http,
        offset: 0,
        rampMs,
        durationMs,
        hls: {
          viewers: viewers - flv,
          startSegments: 1,
          churn: life,
          target: { kind: "gate", port: setup.ports.http, masterPath: "/live/test/index.m3u8?token=demo" },
        },
        flv: { viewers: flv, path: "/live/test.flv?token=demo", churn: life },
      },
      options.loadProcesses,
    );
    const samples: { atMs: number; rssBytes: number; fds: number }[] = [];
    const t0 = Date.now();
    const sampler = setInterval(() => samples.push({ atMs: Date.now() - t0, ...sampleProcess(server.pid) }), everyMs);
    const result = await load.result;
    clearInterval(sampler);
    // Every viewer has gone: the descriptors they used must be closed again (HLS sessions hold none).
    const idleAfter = await waitFor(
      "the viewers' sockets to close",
      () => {
        const now = sampleProcess(server.pid);
        return now.fds <= idleBefore.fds + IDLE_FD_TOLERANCE ? now : undefined;
      },
      10_000,
    ).catch(() => sampleProcess(server.pid));
    const warm = samples.slice(Math.max(1, Math.floor(samples.length / 4)));
    const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;
    const first = warm[0]!;
    const last = warm.at(-1)!;
    const rssSlope = slopePerMinute(warm.map((s) => [s.atMs, s.rssBytes]));
    const fdSlope = slopePerMinute(warm.map((s) => [s.atMs, s.fds]));
    sheet.info(
      "viewers (HLS + FLV), duration, sample every",
      `${viewers} (${viewers - flv} + ${flv}), ${(durationMs / 60_000).toFixed(1)} min, ${everyMs / 1000} s`,
    );
    sheet.info("sessions over the run, viewer errors", `${result.joined}, ${totalErrors(result)}`);
    sheet.info(
      "segments delivered",
      `${result.segmentsDelivered} / ${result.segmentsAsked} (${percent(result.segmentsDelivered, result.segmentsAsked)})`,
    );
    sheet.info(
      "RSS start / after warm-up / end / max",
      `${mb(samples[0]!.rssBytes)} / ${mb(first.rssBytes)} / ${mb(last.rssBytes)} / ${mb(Math.max(...samples.map((s) => s.rssBytes)))}`,
    );
    sheet.info("RSS slope after warm-up", `${(rssSlope / 1048576).toFixed(2)} MB/min`);
    const rssAllowed = Math.max(first.rssBytes * RSS_TOLERANCE.fraction, RSS_TOLERANCE.minBytes);
    sheet.check(
      "RSS growth after warm-up",
      mb(last.rssBytes - first.rssBytes),
      `≤ ${mb(rssAllowed)}`,
      last.rssBytes - first.rssBytes <= rssAllowed,
    );
    sheet.info(
      "open fds start / after warm-up / end / max",
      `${samples[0]!.fds} / ${first.fds} / ${last.fds} / ${Math.max(...samples.map((s) => s.fds))}`,
    );
    sheet.info("open fds slope after warm-up", `${fdSlope.toFixed(2)} /min`);
    sheet.check(
      "open fds growth after warm-up",
      last.fds - first.fds,
      `≤ ${fdTolerance(viewers)}`,
      last.fds - first.fds <= fdTolerance(viewers),
    );
    sheet.check(
      "open fds idle before / after the load",
      `${idleBefore.fds} / ${idleAfter.fds}`,
      `after ≤ before + ${IDLE_FD_TOLERANCE}`,
      idleAfter.fds <= idleBefore.fds + IDLE_FD_TOLERANCE,
    );
    sheet.check("viewers joined", result.joined, `≥ ${viewers}`, result.joined >= viewers);
    if (totalErrors(result) > 0) sheet.notes.push(`viewer errors: ${JSON.stringify(result.errors)}`);
    sheet.notes.push(
      `samples (s: MB, fds): ${samples.map((s) => `${Math.round(s.atMs / 1000)}: ${(s.rssBytes / 1048576).toFixed(0)}, ${s.fds}`).join("; ")}`,
    );
  } catch (error) {
    sheet.fail(`aborted: ${(error as Error).message}\n${server.tail().split("\n").slice(-10).join("\n")}`);
  } finally {
    await server.stop("SIGTERM");
    work.cleanup();
  }
  return { name: sheet.scenario, passed: sheet.passed, figures: sheet.figures, notes: sheet.notes, seconds: (Date.now() - started) / 1000 };
}

/** Least-squares slope of [ms, value] points, per minute; 0 for fewer than two points. */
function slopePerMinute(points: [number, number][]): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const num = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const den = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return den === 0 ? 0 : (num / den) * 60_000;
}
