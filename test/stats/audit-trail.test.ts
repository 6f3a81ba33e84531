import { expect } from "chai";
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemorySessionStore } from "../../plugin/src/sessions/memory-session-store.js";
import { LEDGER_SCHEMA_VERSION, StatsLedger } from "../../plugin/src/stats/stats-ledger.js";
import { AUDIT_MEMORY_ENTRIES, AuditTrail } from "../../plugin/src/stats/audit-trail.js";
import { createCapturingLogger, type CapturedLog } from "../helpers/capturing-logger.js";
import { ManualClock } from "../helpers/manual-clock.js";

const T0 = Date.parse("2026-12-01T10:00:00Z");
const DAY_MS = 86_400_000;
const ALL = { since: 0, until: Number.MAX_SAFE_INTEGER, limit: 1000 };

describe("the audit of operator actions (stats/audit-trail.ts)", () => {
  let dir: string;
  let file: string;
  let logs: CapturedLog;
  const open: { close(): void }[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "va-audit-"));
    file = join(dir, "stats.sqlite");
    logs = createCapturingLogger();
  });
  afterEach(() => {
    for (const thing of open.splice(0).reverse()) thing.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function trailOn(clock: ManualClock, retentionDays = 90) {
    const ledger = StatsLedger.open(file, 60_000, new MemorySessionStore(clock, logs.logger), clock, logs.logger);
    const trail = new AuditTrail(clock, logs.logger, { retentionDays, ledger });
    trail.start(); // timers only
    open.push(ledger, trail);
    return { ledger, trail };
  }
  const entry = (actor: string, target: string) => ({
    actor,
    role: "operator",
    action: "session.close" as const,
    target,
    address: "192.0.2.9",
  });

  it("keeps entries in the statistics database across a reopen, newest first, filtered by actor, action and time", () => {
    const clock = new ManualClock(T0);
    const first = trailOn(clock);
    first.trail.record(entry("olivia", "s1"));
    clock.advance(1000);
    first.trail.record(entry("alice", "s2"));
    clock.advance(1000);
    first.trail.record({ actor: "unknown", role: null, action: "sign-in-failed", target: null, address: "192.0.2.10" });
    expect(first.trail.storage).to.equal("database");
    for (const thing of open.splice(0).reverse()) thing.close();

    const again = trailOn(clock);
    expect(again.trail.list(ALL).map((e) => e.target)).to.deep.equal([null, "s2", "s1"]);
    expect(again.trail.list({ ...ALL, actor: "olivia" })).to.deep.equal([
      { at: T0, actor: "olivia", role: "operator", action: "session.close", target: "s1", address: "192.0.2.9" },
    ]);
    expect(again.trail.list({ ...ALL, action: "sign-in-failed" }).map((e) => e.actor)).to.deep.equal(["unknown"]);
    expect(again.trail.list({ ...ALL, since: T0 + 1000, until: T0 + 2000 }).map((e) => e.target)).to.deep.equal(["s2"]);
    expect(again.trail.list({ ...ALL, limit: 1 })).to.have.length(1);
  });

  it("purges entries older than the retention at start and hourly", () => {
    const clock = new ManualClock(T0);
    const { trail } = trailOn(clock, 2);
    trail.record(entry("olivia", "old"));
    clock.advance(DAY_MS);
    trail.record(entry("olivia", "new"));
    clock.advance(DAY_MS + 1);
    trail.purge();
    expect(trail.list(ALL).map((e) => e.target)).to.deep.equal(["new"]);
    expect(logs.events("audit.purged")).to.have.length(1);
  });

  it("upgrades a version-2 file in place, keeping its rows", () => {
    const clock = new ManualClock(T0);
    trailOn(clock);
    for (const thing of open.splice(0).reverse()) thing.close();
    const db = new Database(file);
    db.exec("DROP TABLE audit; PRAGMA user_version = 2;");
    db.exec(`INSERT INTO refusals VALUES (${T0}, 'denied', 'securetoken', 'live/x', 'rtmp', 0, 3)`);
    db.close();
    const { ledger, trail } = trailOn(clock);
    trail.record(entry("olivia", "after-upgrade"));
    expect(trail.list(ALL).map((e) => e.target)).to.deep.equal(["after-upgrade"]);
    expect(ledger.refusals(0, T0 + DAY_MS).total).to.equal(3);
    expect((ledger.database as Database.Database).pragma("user_version", { simple: true })).to.equal(LEDGER_SCHEMA_VERSION);
    expect(LEDGER_SCHEMA_VERSION).to.equal(3);
  });

  it("without stats.file keeps the newest entries in a bounded ring", () => {
    const clock = new ManualClock(T0);
    const trail = new AuditTrail(clock, logs.logger, { retentionDays: 90 });
    expect(trail.storage).to.equal("memory");
    for (let i = 0; i < AUDIT_MEMORY_ENTRIES + 5; i++) trail.record(entry("olivia", `s${i}`));
    const all = trail.list({ ...ALL, limit: AUDIT_MEMORY_ENTRIES + 100 });
    expect(all).to.have.length(AUDIT_MEMORY_ENTRIES);
    expect(all.some((e) => e.target === "s0")).to.equal(false);
    expect(all.some((e) => e.target === `s${AUDIT_MEMORY_ENTRIES + 4}`)).to.equal(true);
  });

  it("caps the text of an entry", () => {
    const trail = new AuditTrail(new ManualClock(T0), logs.logger, { retentionDays: 90 });
    trail.record({ actor: "a".repeat(500), role: "operator", action: "user.edit", target: "x".repeat(70_000), address: "y".repeat(200) });
    const [row] = trail.list(ALL);
    expect([row!.actor.length, row!.target!.length, row!.address.length]).to.deep.equal([64, 256, 64]);
  });
});
