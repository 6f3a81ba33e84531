import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Protocol } from "../../plugin/src/core/auth-request.js";
import { MemorySessionStore } from "../../plugin/src/sessions/memory-session-store.js";
import { snapshotOf } from "../../plugin/src/core/viewer-session.js";
import { StatsLedger } from "../../plugin/src/stats/stats-ledger.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";
import { ManualClock } from "../helpers/manual-clock.js";

const T0 = Date.parse("2026-11-24T10:00:00Z");

describe("session last activity: streaming viewers are active while they play, HLS viewers when they ask", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "va-activity-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const viewer = (registry: MemorySessionStore, protocol: Protocol) => {
    const session = registry.open({
      protocol,
      app: "live",
      channel: "test",
      ip: "192.0.2.1",
      userAgent: "player",
      transport: { bytesOut: () => 1000, close() {} },
    });
    registry.admit(session, { identity: undefined, request: undefined });
    return session;
  };

  it("reports a playing FLV session as active now, an HLS session at its last request, and freezes both at the end", () => {
    const clock = new ManualClock(T0);
    const registry = new MemorySessionStore(clock, createCapturingLogger().logger);
    const flv = viewer(registry, "http-flv");
    const hls = viewer(registry, "hls");
    clock.advance(2_000);
    registry.touch(hls);
    clock.advance(8_000);
    expect(snapshotOf(flv, clock.now()).lastActivityAt).to.equal(T0 + 10_000);
    expect(snapshotOf(hls, clock.now()).lastActivityAt).to.equal(T0 + 2_000);
    registry.end(flv, "viewer-left");
    registry.end(hls, "idle");
    clock.advance(5_000);
    expect(snapshotOf(flv, clock.now())).to.include({ lastActivityAt: T0 + 10_000, endedAt: T0 + 10_000 });
    expect(snapshotOf(hls, clock.now())).to.include({ lastActivityAt: T0 + 2_000, endedAt: T0 + 10_000 });
  });

  it("after a crash, live sessions are recorded as server-stopped at their last activity", () => {
    const file = join(dir, "stats.sqlite");
    const clock = new ManualClock(T0);
    const logs = createCapturingLogger();
    const registry = new MemorySessionStore(clock, logs.logger);
    const ledger = StatsLedger.open(file, 60_000, registry, clock, logs.logger);
    viewer(registry, "rtmp");
    const hls = viewer(registry, "hls");
    clock.advance(3_000);
    registry.touch(hls, true); // a segment: the HLS viewer plays (one that fetched only playlists is no viewing to recover)
    clock.advance(7_000);
    ledger.flush(); // the last heartbeat before the process dies
    ledger.close(); // the sessions stay in live_sessions, as after a SIGKILL

    const restarted = StatsLedger.open(file, 60_000, new MemorySessionStore(clock, logs.logger), new ManualClock(T0 + 60_000), logs.logger);
    const csv = restarted
      .exportCsv(0, T0 + 120_000)
      .trim()
      .split("\r\n");
    restarted.close();
    const header = csv[0]!.split(",");
    const rows = csv.slice(1).map((line) => Object.fromEntries(line.split(",").map((v, i) => [header[i]!, v])));
    const byProtocol = (p: string) => rows.find((r) => r.protocol === p)!;
    expect(byProtocol("rtmp")).to.include({ ended_at: new Date(T0 + 10_000).toISOString(), end_reason: "server-stopped" });
    expect(byProtocol("hls")).to.include({ ended_at: new Date(T0 + 3_000).toISOString(), end_reason: "server-stopped" });
    expect(logs.events("stats.recovered")[0]).to.include({ sessions: 2 });
  });
});
