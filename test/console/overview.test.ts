import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { AuthChain } from "../../plugin/src/chain/auth-chain.js";
import { OverviewCounters } from "../../plugin/src/console/overview-counters.js";
import { ViewerHistory } from "../../plugin/src/console/viewer-history.js";
import type { Authorizer, OutboundCall } from "../../plugin/src/core/authorizer.js";
import { deny, PASS } from "../../plugin/src/core/decision.js";
import type { Protocol } from "../../plugin/src/core/auth-request.js";
import { MemorySessionStore } from "../../plugin/src/sessions/memory-session-store.js";
import { LEDGER_SCHEMA_VERSION, StatsLedger } from "../../plugin/src/stats/stats-ledger.js";
import { authRequest } from "../helpers/auth-requests.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";
import { ManualClock } from "../helpers/manual-clock.js";

const MINUTE_MS = 60_000;
const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);

function storeOn(clock: ManualClock) {
  const { logger } = createCapturingLogger();
  const store = new MemorySessionStore(clock, logger);
  const play = (protocol: Protocol, channel: string, bytes: { n: number } = { n: 0 }, user?: string) => {
    const s = store.open({
      protocol,
      app: "live",
      channel,
      ip: "10.0.0.1",
      userAgent: "t",
      transport: { bytesOut: () => bytes.n, close() {} },
    });
    store.admit(s, { identity: user === undefined ? undefined : { name: user, userId: user }, request: undefined });
    return s;
  };
  return { store, play, logger };
}

describe("console overview: counters kept as things happen", () => {
  it("viewers per protocol and channel follow playing and ended sessions; a checking session is not counted", () => {
    const clock = new ManualClock(T0);
    const { store, play, logger } = storeOn(clock);
    const early = play("rtmp", "one");
    const counters = new OverviewCounters(new AuthChain([], "allow", logger), store, clock, undefined);
    const a = play("http-flv", "one");
    play("http-flv", "two");
    store.open({
      protocol: "hls",
      app: "live",
      channel: "two",
      ip: "10.0.0.2",
      userAgent: "t",
      transport: { bytesOut: () => 0, close() {} },
    });
    expect(counters.viewers).to.equal(3);
    expect(counters.viewersPerProtocol()).to.deep.equal({ rtmp: 1, "http-flv": 2 });
    expect(counters.viewersPerChannel()).to.deep.equal({ "live/one": { rtmp: 1, "http-flv": 1 }, "live/two": { "http-flv": 1 } });
    store.end(a, "viewer-left");
    store.end(early, "closed-by-api");
    expect(counters.viewersPerProtocol()).to.deep.equal({ "http-flv": 1 });
    expect(counters.viewersPerChannel()).to.deep.equal({ "live/two": { "http-flv": 1 } });
    counters.close();
  });

  it("decisions per minute over the last hour, refusals by step, the server's own processes left out", async () => {
    const clock = new ManualClock(T0);
    const { store, logger } = storeOn(clock);
    const chain = new AuthChain(
      [
        { name: "internal", decide: (r) => (r.ip === "127.0.0.9" ? { verdict: "allow" } : PASS) },
        { name: "ip-deny", decide: (r) => (r.ip === "10.0.0.9" ? deny("address on deny list") : PASS) },
      ] as Authorizer[],
      "allow",
      logger,
    );
    const counters = new OverviewCounters(chain, store, clock, undefined);
    for (const ip of ["10.0.0.1", "10.0.0.9", "10.0.0.9", "127.0.0.9"]) await chain.decide(authRequest({ ip }));
    clock.advance(MINUTE_MS);
    await chain.decide(authRequest({ ip: "10.0.0.1" }));
    expect(counters.decisionsPerMinute()).to.deep.equal([
      { minute: T0, admitted: 1, refused: { "ip-deny": 2 } },
      { minute: T0 + MINUTE_MS, admitted: 1, refused: {} },
    ]);
    clock.advance(60 * MINUTE_MS);
    expect(counters.decisionsPerMinute()).to.deep.equal([]);
    counters.close();
    await chain.decide(authRequest({ ip: "10.0.0.1" }));
    expect(counters.decisionsPerMinute()).to.deep.equal([]);
  });

  it("bandwidth over the last minute from sums of the bytes sent, ended sessions' bytes kept", () => {
    const clock = new ManualClock(T0);
    const { store, play, logger } = storeOn(clock);
    const counters = new OverviewCounters(new AuthChain([], "allow", logger), store, clock, undefined);
    const bytesA = { n: 0 };
    const bytesB = { n: 0 };
    const a = play("http-flv", "one", bytesA);
    play("http-flv", "one", bytesB);
    counters.sampleBytes();
    expect(counters.bandwidth()).to.deep.equal({ bytesPerSec: 0, windowSec: 0, sentBytes: 0 });
    for (let i = 1; i <= 24; i++) {
      clock.advance(5_000);
      bytesA.n += 50_000;
      bytesB.n += 25_000;
      if (i === 20) store.end(a, "viewer-left"); // its final bytes still count
      counters.sampleBytes();
    }
    // The window is the last minute: 15,000 bytes a second (A's last 4 samples froze, B kept going).
    const { bytesPerSec, windowSec, sentBytes } = counters.bandwidth();
    expect(windowSec).to.equal(60);
    expect(sentBytes).to.equal(20 * 50_000 + 24 * 25_000);
    expect(bytesPerSec).to.equal(Math.round((8 * 50_000 + 12 * 25_000) / 60));
    counters.close();
  });

  it("backend health: calls, 5xx and failures, unreachable, p50/p99, cache hit ratio", () => {
    const clock = new ManualClock(T0);
    const { store, logger } = storeOn(clock);
    const listeners: ((call: OutboundCall) => void)[] = [];
    const backend: Authorizer = {
      name: "backend",
      decide: () => PASS,
      counters: () => ({ hits: 3, misses: 1, coalesced: 0 }),
      onCall: (l) => {
        listeners.push(l);
        return () => listeners.splice(listeners.indexOf(l), 1);
      },
    };
    const counters = new OverviewCounters(new AuthChain([backend], "allow", logger), store, clock, backend);
    expect(counters.backendHealth()).to.deep.include({ calls: 0, p50Ms: null, p99Ms: null });
    const results = [...Array(98).fill("200"), "503", "refused"] as string[];
    results.forEach((result, i) => listeners[0]!({ result, seconds: (i + 1) / 1000 }));
    listeners[0]!({ result: "bad-answer", seconds: 0.5 });
    expect(counters.backendHealth()).to.deep.equal({
      calls: 101,
      errors: 3,
      unreachable: 1,
      p50Ms: 51,
      p99Ms: 100,
      cacheHitRatio: 0.75,
    });
    counters.close();
    expect(listeners).to.have.length(0);
  });
});

describe("viewer history over a day and a week", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "va-history-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps the most viewers at once per minute (24 h) and per 10 minutes (7 d), zero where nobody watched", () => {
    const clock = new ManualClock(T0);
    const { store, play } = storeOn(clock);
    const history = new ViewerHistory(store, clock);
    const a = play("http-flv", "one");
    play("hls", "one");
    play("rtmp", "two");
    history.sample();
    clock.advance(10_000);
    store.end(a, "viewer-left");
    history.sample();
    clock.advance(MINUTE_MS);
    history.sample();
    const day = history.series("live/one", "24h");
    expect(day.resolutionSec).to.equal(60);
    expect(day.points).to.have.length(1440);
    expect(day.points.slice(-2)).to.deep.equal([
      { at: T0, viewers: 2 },
      { at: T0 + MINUTE_MS, viewers: 1 },
    ]);
    expect(day.points[0]!.viewers).to.equal(0);
    expect(history.series(undefined, "24h").points.at(-2)).to.deep.equal({ at: T0, viewers: 3 });
    const week = history.series("live/one", "7d");
    expect(week.resolutionSec).to.equal(600);
    expect(week.points).to.have.length(1008);
    expect(week.points.at(-1)).to.deep.equal({ at: T0, viewers: 2 });
    // A day later the minute is gone from the day, still in the week.
    clock.advance(86_400_000);
    history.sample();
    expect(history.series("live/one", "24h").points.find((p) => p.at === T0)).to.equal(undefined);
    expect(history.series("live/one", "7d").points.find((p) => p.at === T0)).to.deep.equal({ at: T0, viewers: 2 });
    history.close();
  });

  it("survives a restart through the statistics database, and a ledger of schema 2 is upgraded in place", () => {
    const file = join(dir, "stats.sqlite");
    const old = new Database(file);
    old.exec(`
      CREATE TABLE sessions (
        id TEXT PRIMARY KEY, name TEXT, user_id TEXT, app TEXT NOT NULL, channel TEXT NOT NULL, ip TEXT NOT NULL,
        protocol TEXT NOT NULL, user_agent TEXT, started_at INTEGER NOT NULL, playing_since INTEGER, last_activity_at INTEGER NOT NULL,
        bytes_out INTEGER NOT NULL, ended_at INTEGER NOT NULL, end_reason TEXT NOT NULL);
      CREATE TABLE live_sessions (
        id TEXT PRIMARY KEY, name TEXT, user_id TEXT, app TEXT NOT NULL, channel TEXT NOT NULL, ip TEXT NOT NULL,
        protocol TEXT NOT NULL, user_agent TEXT, started_at INTEGER NOT NULL, playing_since INTEGER, last_activity_at INTEGER NOT NULL,
        bytes_out INTEGER NOT NULL);
      INSERT INTO sessions VALUES ('old', NULL, 'alice', 'live', 'one', '192.0.2.1', 'rtmp', 'p', ${T0 - 9000}, ${T0 - 9000}, ${T0 - 4000}, 10, ${T0 - 4000}, 'viewer-left');
      CREATE TABLE refusals (minute INTEGER NOT NULL, reason TEXT NOT NULL, stage TEXT NOT NULL, channel TEXT NOT NULL,
      protocol TEXT NOT NULL, identified INTEGER NOT NULL, count INTEGER NOT NULL,
      PRIMARY KEY (minute, reason, stage, channel, protocol, identified)) WITHOUT ROWID;`);
    old.pragma("user_version = 2");
    old.close();
    const clock = new ManualClock(T0);
    const first = storeOn(clock);
    const ledger = StatsLedger.open(file, 60_000, first.store, clock, first.logger);
    const history = new ViewerHistory(first.store, clock, undefined, () => ledger, first.logger);
    first.play("http-flv", "one");
    first.play("http-flv", "one");
    history.sample();
    clock.advance(MINUTE_MS); // the first minute closes: written at the next count
    first.play("http-flv", "one");
    history.sample();
    history.close(); // writes the open minute too
    ledger.close();

    clock.advance(5 * MINUTE_MS);
    const second = storeOn(clock);
    const reopened = StatsLedger.open(file, 60_000, second.store, clock, second.logger);
    const after = new ViewerHistory(second.store, clock, undefined, () => reopened, second.logger);
    const points = after.series("live/one", "24h").points;
    expect(points.find((p) => p.at === T0)).to.deep.equal({ at: T0, viewers: 2 });
    expect(points.find((p) => p.at === T0 + MINUTE_MS)).to.deep.equal({ at: T0 + MINUTE_MS, viewers: 3 });
    expect(after.series("live/one", "7d").points.at(-1)).to.deep.equal({ at: T0, viewers: 3 });
    after.close();
    reopened.close();
    const db = new Database(file, { readonly: true });
    expect(db.pragma("user_version", { simple: true })).to.equal(LEDGER_SCHEMA_VERSION);
    expect(db.prepare("SELECT user_id FROM sessions WHERE id = ?").all("old")).to.deep.equal([{ user_id: "alice" }]);
    db.close();
  });
});
