import { expect } from "chai";
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { buildChain } from "../../plugin/src/build-chain.js";
import { systemClock, type Clock } from "../../plugin/src/core/clock.js";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import { pluginConfigSchema, type PluginConfig } from "../../plugin/src/plugin-config-schema.js";
import { PluginMetrics } from "../../plugin/src/metrics/plugin-metrics.js";
import { MemorySessionStore } from "../../plugin/src/sessions/memory-session-store.js";
import type { ViewerSession } from "../../plugin/src/core/viewer-session.js";
import { StatsLedger, TEXT_LIMITS, type StatsLedgerOptions } from "../../plugin/src/stats/stats-ledger.js";
import { waitFor } from "../helpers/wait-for.js";
import { createCapturingLogger, type CapturedLog } from "../helpers/capturing-logger.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { sleep } from "../helpers/sleep.js";

const T0 = Date.parse("2026-11-24T10:00:00Z");
const DAY_MS = 86_400_000;
const BUSY_TIMEOUT_MS = 50;

describe("statistics ledger under database faults: the server keeps serving, rows are kept and land once", function () {
  this.timeout(30_000);
  let dir: string;
  let file: string;
  let logs: CapturedLog;
  const open: { close(): void }[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "va-ledger-faults-"));
    file = join(dir, "stats.sqlite");
    logs = createCapturingLogger();
  });
  afterEach(() => {
    for (const thing of open.splice(0).reverse()) thing.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function ledgerOn(
    clock: Clock,
    options: StatsLedgerOptions = {},
    flushIntervalMs = 60_000,
    registry = new MemorySessionStore(clock, logs.logger),
  ) {
    const ledger = StatsLedger.open(file, flushIntervalMs, registry, clock, logs.logger, { busyTimeoutMs: BUSY_TIMEOUT_MS, ...options });
    open.push(ledger);
    return { registry, ledger };
  }

  /** Another connection (another process, a backup job) holding the write lock until released. */
  function lockDatabase(): { release(): void } {
    const other = new Database(file);
    other.exec("BEGIN EXCLUSIVE");
    let released = false;
    const lock = {
      release() {
        if (released) return;
        released = true;
        other.exec("COMMIT");
        other.close();
      },
      close() {
        lock.release();
      },
    };
    open.push(lock);
    return lock;
  }

  function endViewer(
    registry: MemorySessionStore,
    fields: Partial<Record<"app" | "channel" | "ip" | "userAgent", unknown>> = {},
    played = true,
    reason: "viewer-left" | "denied" = "viewer-left",
  ): ViewerSession {
    const session = registry.open({
      protocol: "rtmp",
      app: "live",
      channel: "test",
      ip: "192.0.2.1",
      userAgent: "player/1.0",
      transport: { bytesOut: () => 1000, close() {} },
      ...(fields as object),
    });
    if (played) registry.admit(session, { identity: undefined, request: undefined });
    // A refusal of a viewer with an identity (revoked user): such refusals are kept as rows; anonymous ones are counted per minute.
    if (played) registry.end(session, reason);
    else registry.end(session, "denied", { stage: "revoked", identity: { userId: "revoked-user" } });
    return session;
  }

  function rowsIn(): Record<string, unknown>[] {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare("SELECT * FROM sessions ORDER BY started_at, rowid").all() as Record<string, unknown>[];
    } finally {
      db.close();
    }
  }

  it("a database locked by another connection for 2 s: flushes fail fast and are retried, the event loop never waits, every row lands once", async () => {
    const { registry, ledger } = ledgerOn(systemClock, {}, 100);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(endViewer(registry).id);
    const lock = lockDatabase();

    // An event-loop lag probe: how late does a 10 ms interval fire while the ledger keeps failing?
    let maxLagMs = 0;
    let last = performance.now();
    const probe = setInterval(() => {
      const now = performance.now();
      maxLagMs = Math.max(maxLagMs, now - last - 10);
      last = now;
    }, 10);
    try {
      const lockedUntil = performance.now() + 2000;
      const flushMs: number[] = [];
      while (performance.now() < lockedUntil) {
        ids.push(endViewer(registry).id); // the server keeps serving and sessions keep ending
        const started = performance.now();
        ledger.flush();
        flushMs.push(performance.now() - started);
        await sleep(100);
      }
      expect(ledger.counters().pendingRows, "rows kept in memory").to.equal(ids.length);
      expect(ledger.counters().writeFailures).to.be.at.least(10);
      // Each failed flush waited for the busy timeout, not the 5 s default: a few ms of slack for a loaded machine.
      expect(Math.max(...flushMs), "longest failed flush (ms)").to.be.below(BUSY_TIMEOUT_MS + 150);
      expect(Math.min(...flushMs), "a failed flush waits for the lock first").to.be.at.least(BUSY_TIMEOUT_MS * 0.8);
      const failures = logs.events("stats.write_failed");
      expect(failures, "one line for the whole outage (rate-limited)").to.have.length(1);
      expect(failures[0]).to.include({ level: 50, code: "SQLITE_BUSY", operation: "write", failures: 1 });
      expect(rowsIn(), "nothing written while locked").to.have.length(0);

      lock.release();
      await waitFor("the rows to be written", () => (ledger.counters().pendingRows === 0 ? true : undefined), 5000);
    } finally {
      clearInterval(probe);
    }
    expect(maxLagMs, "event-loop lag (ms)").to.be.below(BUSY_TIMEOUT_MS + 250);
    const rows = rowsIn();
    expect(rows.map((r) => r.id).sort(), "every row exactly once").to.deep.equal([...ids].sort());
    const recovered = logs.events("stats.write_recovered");
    expect(recovered).to.have.length(1);
    expect(recovered[0]!.failures).to.equal(ledger.counters().writeFailures);
    expect(logs.events("stats.rows_dropped")).to.have.length(0);
  });

  it("close() with the database locked does not throw; the rows it could not write are logged and counted", () => {
    const { registry, ledger } = ledgerOn(systemClock);
    for (let i = 0; i < 3; i++) endViewer(registry);
    const lock = lockDatabase();
    const started = performance.now();
    expect(() => ledger.close()).to.not.throw();
    expect(performance.now() - started, "close waits at most about one busy timeout").to.be.below(BUSY_TIMEOUT_MS + 250);
    expect(ledger.counters()).to.deep.include({ pendingRows: 0, rowsDropped: { overflow: 0, rejected: 0, closed: 3 } });
    expect(logs.events("stats.rows_dropped")[0]).to.include({ level: 50, reason: "closed", rows: 3, lastFailureCode: "SQLITE_BUSY" });
    expect(() => ledger.flush(), "a flush after close is a no-op").to.not.throw();
    lock.release();
  });

  it("over stats.maxPendingRows the oldest rows are dropped, counted and logged; the newest land", async () => {
    const { registry, ledger } = ledgerOn(systemClock, { maxPendingRows: 100 });
    const lock = lockDatabase();
    const ids: string[] = [];
    for (let i = 0; i < 150; i++) ids.push(endViewer(registry, { channel: `ch${i}` }).id);
    ledger.flush();
    expect(ledger.counters()).to.deep.include({ pendingRows: 100, rowsDropped: { overflow: 50, rejected: 0, closed: 0 } });
    const dropped = logs.events("stats.rows_dropped");
    expect(dropped, "the first drop is logged, later ones within the minute are only counted").to.have.length(1);
    expect(dropped[0]).to.include({ reason: "overflow", rows: 1, droppedTotal: 1, occurrences: 1 });

    lock.release();
    ledger.flush();
    expect(
      rowsIn()
        .map((r) => r.id)
        .sort(),
    ).to.deep.equal(ids.slice(50).sort());
  });

  it("a non-string or huge User-Agent, app or address is coerced to text and capped, and the write succeeds", () => {
    const { registry, ledger } = ledgerOn(systemClock);
    const huge = "A".repeat(1024 * 1024);
    endViewer(registry, { userAgent: huge, channel: "c".repeat(10_000) });
    endViewer(registry, { userAgent: { version: "LNX 9,0,124,2" }, app: 42 });
    endViewer(registry, { userAgent: new Array(1_000_000).fill("x"), ip: null });
    endViewer(registry, { userAgent: 3.5, channel: undefined });
    ledger.flush();
    expect(logs.events("stats.write_failed")).to.have.length(0);
    const rows = rowsIn();
    expect(rows).to.have.length(4);
    expect(rows[0]).to.include({ user_agent: huge.slice(0, TEXT_LIMITS.userAgent), channel: "c".repeat(TEXT_LIMITS.channel) });
    expect(rows[1]).to.include({ user_agent: "[object]", app: "42" });
    expect(rows[2]).to.include({ user_agent: "[array]", ip: "" });
    expect(rows[3]).to.include({ user_agent: "3.5", channel: "" });
  });

  it("a row the database itself refuses is dropped alone and counted as rejected; the rest of its batch lands", () => {
    const { registry, ledger } = ledgerOn(systemClock);
    const db = new Database(file);
    db.exec(
      "CREATE TRIGGER refuse_poison BEFORE INSERT ON sessions WHEN NEW.user_agent = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned row'); END",
    );
    db.close();
    endViewer(registry, { userAgent: "before" });
    endViewer(registry, { userAgent: "poison" });
    endViewer(registry, { userAgent: "after" });
    ledger.flush();
    ledger.flush();
    expect(rowsIn().map((r) => r.user_agent)).to.deep.equal(["before", "after"]);
    expect(ledger.counters()).to.deep.include({ pendingRows: 0, writeFailures: 0, rowsDropped: { overflow: 0, rejected: 1, closed: 0 } });
    expect(logs.events("stats.rows_dropped")[0]).to.include({ reason: "rejected", rows: 1 });
  });

  it("a throwing session listener does not keep the ledger (or anyone) from recording the end", () => {
    // The broken listener subscribes first, so it runs before the ledger's.
    const store = new MemorySessionStore(systemClock, logs.logger);
    store.subscribe("ended", function brokenListener() {
      throw new Error("listener bug");
    });
    const { registry, ledger } = ledgerOn(systemClock, {}, 60_000, store);
    expect(() => endViewer(registry)).to.not.throw();
    ledger.flush();
    expect(rowsIn()).to.have.length(1);
    expect(logs.events("session.listener_failed")[0]).to.include({ level: 50, callback: "brokenListener" });
  });

  describe("retention", () => {
    it("purges sessions that never played after stats.deniedRetentionDays, at start and hourly, and keeps played ones", () => {
      const clock = new ManualClock(T0);
      const first = ledgerOn(clock, { deniedRetentionDays: 7 });
      endViewer(first.registry, { userAgent: "old denied" }, false);
      endViewer(first.registry, { userAgent: "old played" }, true);
      clock.set(T0 + 6 * DAY_MS);
      endViewer(first.registry, { userAgent: "recent denied" }, false);
      first.ledger.close();

      // A start 13 days after the first rows purges at once: the old denied row goes, the recent one (not yet 7 days old) stays.
      clock.set(T0 + 13 * DAY_MS - 1_800_000);
      const second = ledgerOn(clock, { deniedRetentionDays: 7 });
      expect(rowsIn().map((r) => r.user_agent)).to.deep.equal(["old played", "recent denied"]);
      expect(logs.events("stats.purged")[0]).to.include({ rows: 1, deniedRetentionDays: 7 });

      // The recent denied row expires 30 minutes later, but the next purge runs an hour after the last one, not at every flush.
      clock.advance(2_400_000);
      second.ledger.flush();
      expect(rowsIn(), "not due yet").to.have.length(2);
      clock.advance(1_200_000);
      second.ledger.flush();
      expect(rowsIn().map((r) => r.user_agent)).to.deep.equal(["old played"]);
      expect(second.ledger.counters().rowsPurged).to.equal(2);
    });

    it("deniedRetentionDays 0 stores no never-played session; retentionDays purges every old session", () => {
      const clock = new ManualClock(T0);
      const { registry, ledger } = ledgerOn(clock, { deniedRetentionDays: 0, retentionDays: 30 });
      endViewer(registry, { userAgent: "denied" }, false);
      endViewer(registry, { userAgent: "played long ago" }, true);
      ledger.flush();
      expect(rowsIn().map((r) => r.user_agent)).to.deep.equal(["played long ago"]);
      clock.set(T0 + 29 * DAY_MS);
      endViewer(registry, { userAgent: "played recently" }, true);
      clock.set(T0 + 31 * DAY_MS);
      ledger.flush();
      expect(rowsIn().map((r) => r.user_agent)).to.deep.equal(["played recently"]);
    });
  });

  it("CSV export defuses formulas: cells starting with = + - @ tab or CR get a leading quote (OWASP)", () => {
    const { registry, ledger } = ledgerOn(systemClock);
    const agents = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1:A9)", "\tcmd", "\rcmd", "normal player/1.0", "a=b"];
    for (const userAgent of agents) endViewer(registry, { userAgent });
    const csv = parseCsv(ledger.exportCsv(0, Date.now() + 1000));
    const column = csv[0]!.indexOf("user_agent");
    expect(csv.slice(1).map((r) => r[column])).to.deep.equal([
      '\'=HYPERLINK("http://evil.example","x")',
      "'+1+1",
      "'-2+3",
      "'@SUM(A1:A9)",
      "'\tcmd",
      "'\rcmd",
      "normal player/1.0",
      "a=b",
    ]);
  });

  it("/metrics reports failed writes, waiting rows and dropped rows", async () => {
    const { registry, ledger } = ledgerOn(systemClock, { maxPendingRows: 100 });
    const config = parseConfig(pluginConfigSchema, {}) as PluginConfig;
    const chain = buildChain(config, { sessions: registry, clock: systemClock }, logs.logger);
    const metrics = new PluginMetrics(chain, registry, logs.logger, undefined, ledger);
    open.push({ close: () => void chain.close() }, metrics);
    const lock = lockDatabase();
    for (let i = 0; i < 101; i++) endViewer(registry);
    ledger.flush();
    ledger.flush();
    const { body } = await metrics.render();
    expect(body).to.include("va_stats_write_failures_total 2");
    expect(body).to.include("va_stats_pending_rows 100");
    expect(body).to.include('va_stats_rows_dropped_total{reason="overflow"} 1');
    expect(body).to.include('va_stats_rows_dropped_total{reason="rejected"} 0');
    lock.release();
    ledger.flush();
    expect((await metrics.render()).body).to.include("va_stats_pending_rows 0");
  });
});

/** RFC 4180 CSV: quoted cells may hold commas, quotes (doubled) and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') ((cell += '"'), i++);
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") (row.push(cell), (cell = ""));
    else if (c === "\r" && text[i + 1] === "\n") (row.push(cell), rows.push(row), (row = []), (cell = ""), i++);
    else cell += c;
  }
  return rows;
}
