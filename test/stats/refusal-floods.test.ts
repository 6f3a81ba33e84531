import { expect } from "chai";
import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SessionRefusal } from "../../plugin/src/core/viewer-session.js";
import { MemorySessionStore } from "../../plugin/src/sessions/memory-session-store.js";
import { IDENTIFIED_ROWS_PER_IDENTITY, LEDGER_SCHEMA_VERSION, StatsLedger } from "../../plugin/src/stats/stats-ledger.js";
import { OTHER_CHANNEL, REFUSAL_KEYS_PER_MINUTE } from "../../plugin/src/stats/refusal-tally.js";
import { AuthChain } from "../../plugin/src/chain/auth-chain.js";
import { ANONYMOUS_REFUSALS_KEPT, DecisionLog } from "../../plugin/src/console/decision-log.js";
import { allow, deny } from "../../plugin/src/core/decision.js";
import { authRequest } from "../helpers/auth-requests.js";
import { createCapturingLogger, type CapturedLog } from "../helpers/capturing-logger.js";
import { ManualClock } from "../helpers/manual-clock.js";

const T0 = Date.parse("2026-12-01T10:00:00Z");
const MINUTE_MS = 60_000;
const MB = 1024 * 1024;

describe("refusal floods: the statistics ledger grows per minute, not per refused request", function () {
  this.timeout(120_000);
  let dir: string;
  let file: string;
  let logs: CapturedLog;
  const open: { close(): void }[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "va-refusal-floods-"));
    file = join(dir, "stats.sqlite");
    logs = createCapturingLogger();
  });
  afterEach(() => {
    for (const thing of open.splice(0).reverse()) thing.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function ledgerOn(clock: ManualClock) {
    const registry = new MemorySessionStore(clock, logs.logger);
    const ledger = StatsLedger.open(file, 60_000, registry, clock, logs.logger, {});
    open.push(ledger);
    return { registry, ledger };
  }

  /** One refused viewer, ended as the gate ends it. */
  function refuse(
    registry: MemorySessionStore,
    channel: string,
    refusal: SessionRefusal,
    protocol: "hls" | "rtmp" = "hls",
    reason: "denied" | "limit" = "denied",
  ): void {
    const session = registry.open({
      protocol,
      app: "live",
      channel,
      ip: "198.51.100.7",
      userAgent: "flood/1.0",
      transport: { bytesOut: () => 0, close() {} },
    });
    registry.end(session, reason, refusal);
  }

  function sizeOnDisk(): number {
    const size = (f: string) => {
      try {
        return statSync(f).size;
      } catch {
        return 0;
      }
    };
    return size(file) + size(`${file}-wal`);
  }

  function query<T>(sql: string): T[] {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare(sql).all() as T[];
    } finally {
      db.close();
    }
  }

  it("tens of thousands of anonymous refusals with attacker-chosen channel names: counters capped per minute, under 10 MB an hour, no session row, no CSV line", () => {
    const clock = new ManualClock(T0);
    const { registry, ledger } = ledgerOn(clock);
    const perMinute = 2 * REFUSAL_KEYS_PER_MINUTE + 500; // every minute fills the key cap and spills into (other)
    const minutes = 24;
    const warmUpMinutes = 4; // the WAL grows to its checkpoint size first; growth is measured after it
    let before = 0;
    for (let m = 0; m < minutes; m++) {
      if (m === warmUpMinutes) before = sizeOnDisk();
      for (let i = 0; i < perMinute; i++) {
        clock.set(T0 + m * MINUTE_MS + Math.floor((i * MINUTE_MS) / perMinute));
        // A random 200-character channel name per request, refused by a step or as malformed input.
        refuse(
          registry,
          randomBytes(150).toString("base64url"),
          { stage: i % 3 === 0 ? "input" : "securetoken" },
          i % 2 === 0 ? "hls" : "rtmp",
        );
      }
      ledger.flush();
    }
    const growthPerHour = ((sizeOnDisk() - before) / (minutes - warmUpMinutes)) * 60;
    const refused = perMinute * minutes;
    console.log(
      `      ${refused} refusals over ${minutes} min; growth ${(growthPerHour / MB).toFixed(2)} MB/h (db+WAL, extrapolated); ${query("SELECT COUNT(*) AS n FROM refusals").map((r: any) => r.n)[0]} counter rows`,
    );
    expect(growthPerHour, "bytes an hour").to.be.below(10 * MB);
    expect(query("SELECT COUNT(*) AS n FROM sessions")[0]).to.deep.equal({ n: 0 });
    expect(
      ledger
        .exportCsv(0, T0 + 1e9)
        .trim()
        .split("\r\n"),
    ).to.have.length(1); // the header only
    const perMinuteRows = query<{ minute: number; n: number; other: number }>(
      `SELECT minute, COUNT(*) AS n, SUM(channel = '${OTHER_CHANNEL}') AS other FROM refusals GROUP BY minute`,
    );
    expect(perMinuteRows).to.have.length(minutes);
    for (const r of perMinuteRows) expect(r.n - r.other, "named channels a minute").to.be.at.most(REFUSAL_KEYS_PER_MINUTE);
    const { total, rows } = ledger.refusals(0, T0 + 1e9);
    expect(total, "every refusal counted").to.equal(refused);
    expect(rows[0]).to.include({ channel: OTHER_CHANNEL, identified: false });
    expect(rows.every((r) => r.channel.length <= 48 && ["input", "securetoken"].includes(r.stage) && r.reason === "denied")).to.equal(true);
  });

  it("one identity hammering a limit: a few rows a minute, the rest counted as identified refusals", () => {
    const clock = new ManualClock(T0);
    const { registry, ledger } = ledgerOn(clock);
    for (let i = 0; i < 5_000; i++) {
      clock.set(T0 + Math.floor(i / 100) * 1000); // 50 s: one minute
      refuse(registry, "test", { stage: "users", identity: { userId: "alice", maxSessions: 1 } }, "rtmp", "limit");
    }
    refuse(registry, "test", { stage: "revoked", identity: { userId: "bob" } }, "rtmp", "denied");
    ledger.flush();
    const rows = query<{ user_id: string; end_reason: string; playing_since: number | null }>(
      "SELECT user_id, end_reason, playing_since FROM sessions ORDER BY user_id",
    );
    expect(rows.filter((r) => r.user_id === "alice")).to.have.length(IDENTIFIED_ROWS_PER_IDENTITY);
    expect(
      rows.filter((r) => r.user_id === "bob"),
      "another identity keeps its own rows",
    ).to.deep.equal([{ user_id: "bob", end_reason: "denied", playing_since: null }]);
    expect(ledger.refusals(0, T0 + 1e9).rows).to.deep.equal([
      {
        reason: "limit",
        stage: "users",
        channel: "live/test",
        protocol: "rtmp",
        identified: true,
        count: 5_000 - IDENTIFIED_ROWS_PER_IDENTITY,
        firstMinute: new Date(T0).toISOString(),
        lastMinute: new Date(T0).toISOString(),
      },
    ]);
  });

  it("an HLS session that fetched only playlists is no usage and no row kept forever; one that fetched a segment is", () => {
    const clock = new ManualClock(T0);
    const { registry, ledger } = ledgerOn(clock);
    const open = () =>
      registry.open({
        protocol: "hls",
        app: "live",
        channel: "test",
        ip: "198.51.100.7",
        userAgent: "p/1",
        transport: { bytesOut: () => 500, close() {} },
      });
    const unplayed = open();
    registry.admit(unplayed, { identity: undefined, request: undefined });
    const played = open();
    registry.admit(played, { identity: undefined, request: undefined });
    clock.advance(2_000);
    registry.touch(played, true);
    clock.advance(8_000);
    registry.end(unplayed, "idle");
    registry.end(played, "idle");
    ledger.flush();
    expect(query("SELECT id FROM sessions")).to.deep.equal([{ id: played.id }]);
    expect(ledger.usage("channel", 0, T0 + 1e9)).to.deep.equal([{ key: "live/test", sessions: 1, watchSeconds: 10, bytesOut: 500 }]);
    expect(ledger.refusals(0, T0 + 1e9).rows.map((r) => [r.reason, r.stage, r.count])).to.deep.equal([["idle", "none", 1]]);
  });

  it("a ledger file from before the refusal counters is upgraded in place: every row kept, counters added", () => {
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
      INSERT INTO sessions VALUES ('old-played', NULL, 'alice', 'live', 'test', '192.0.2.1', 'rtmp', 'p', ${T0}, ${T0}, ${T0 + 5000}, 10, ${T0 + 5000}, 'viewer-left');
      INSERT INTO sessions VALUES ('old-denied', NULL, NULL, 'live', 'test', '192.0.2.1', 'rtmp', 'p', ${T0}, NULL, ${T0}, 0, ${T0}, 'denied');`);
    old.close();
    const clock = new ManualClock(T0 + MINUTE_MS);
    const { registry, ledger } = ledgerOn(clock);
    refuse(registry, "test", { stage: "securetoken" });
    ledger.flush();
    expect(query<{ id: string }>("SELECT id FROM sessions ORDER BY id").map((r) => r.id)).to.deep.equal(["old-denied", "old-played"]);
    expect(query("PRAGMA user_version")).to.deep.equal([{ user_version: LEDGER_SCHEMA_VERSION }]);
    expect(ledger.refusals(0, T0 + 1e9).total).to.equal(1);
    ledger.close();
    open.splice(0);
    // Opening the upgraded file again changes nothing.
    const again = ledgerOn(clock);
    expect(again.ledger.refusals(0, T0 + 1e9).total).to.equal(1);
    expect(again.ledger.usage("user", 0, T0 + 1e9)).to.deep.equal([{ key: "alice", sessions: 1, watchSeconds: 5, bytesOut: 10 }]);
  });

  it("refusal counters follow stats.deniedRetentionDays", () => {
    const clock = new ManualClock(T0);
    const { registry, ledger } = ledgerOn(clock);
    refuse(registry, "old", { stage: "input" });
    ledger.flush();
    clock.set(T0 + 8 * 86_400_000);
    refuse(registry, "recent", { stage: "input" });
    ledger.flush();
    expect(ledger.refusals(0, T0 + 1e10).rows.map((r) => r.channel)).to.deep.equal(["live/recent"]);
  });

  describe("the console's decision log under a flood", () => {
    function setUp() {
      const clock = new ManualClock(T0);
      const chain = new AuthChain(
        [
          {
            name: "securetoken",
            decide: (r) =>
              r.params.get("token") === "good"
                ? allow("valid link", { userId: r.params.get("user") ?? "alice", maxSessions: 1 })
                : deny("invalid link"),
          },
        ],
        "deny",
        logs.logger,
      );
      const store = new MemorySessionStore(clock, logs.logger);
      const log = new DecisionLog(chain, clock, undefined, store);
      open.push(log);
      return { clock, chain, store, log };
    }

    it("50,000 anonymous refusals leave allowed decisions and identified refusals visible; the flood is counted, kept only in its newest few", async () => {
      const { clock, chain, store, log } = setUp();
      for (const ip of ["192.0.2.1", "192.0.2.2", "192.0.2.3"]) await chain.decide(authRequest({ ip, query: "token=good" }));
      refuse(store, "test", { stage: "securetoken", identity: { userId: "bob", maxSessions: 1 } }, "rtmp", "limit");
      for (let i = 0; i < 50_000; i++) {
        clock.set(T0 + 1000 + Math.floor(i / 1000) * 1000);
        await chain.decide(authRequest({ ip: "203.0.113.9", query: `token=${i}` }));
      }
      expect(log.recent({ verdict: "allow" }, 1000).map((d) => d.ip)).to.deep.equal(["192.0.2.3", "192.0.2.2", "192.0.2.1"]);
      expect(log.recent({ text: "bob" }, 1000).map((d) => [d.verdict, d.step, d.reason, d.user])).to.deep.equal([
        ["deny", "securetoken", "refused: at a session limit", "bob"],
      ]);
      expect(log.recent({ ip: "203.0.113.9" }, 1000)).to.have.length(ANONYMOUS_REFUSALS_KEPT);
      expect(log.recent({}, 5)[0]!.ip, "newest first").to.equal("203.0.113.9");
      expect(log.anonymousSummary()).to.include({ total: 50_000 });
      expect(log.anonymousSummary().byStep).to.deep.equal({ securetoken: 50_000 });
    });

    it("one identity hammering a limit keeps a few entries a minute; another identity's refusal stays visible", () => {
      const { log, store } = setUp();
      refuse(store, "test", { stage: "users", identity: { userId: "carol" } }, "rtmp", "limit");
      for (let i = 0; i < 10_000; i++) refuse(store, "test", { stage: "users", identity: { userId: "mallory" } }, "rtmp", "limit");
      expect(log.recent({ text: "carol" }, 1000)).to.have.length(1);
      expect(log.anonymousSummary().total, "mallory beyond the quota is counted").to.equal(10_000 - 5);
    });
  });
});
