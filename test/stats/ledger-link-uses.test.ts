import { expect } from "chai";
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemorySessionStore } from "../../plugin/src/sessions/memory-session-store.js";
import { MemoryLinkUses } from "../../plugin/src/securetoken/link-uses.js";
import { StatsLedger } from "../../plugin/src/stats/stats-ledger.js";
import { LedgerLinkUses, MAX_LINK_USE_ROWS } from "../../plugin/src/stats/ledger-link-uses.js";
import { createCapturingLogger, type CapturedLog } from "../helpers/capturing-logger.js";
import { ManualClock } from "../helpers/manual-clock.js";

const T0 = Date.parse("2026-12-01T10:00:00Z");

describe("LedgerLinkUses: maxUses counts kept in the statistics database", () => {
  let dir: string;
  let file: string;
  let logs: CapturedLog;
  let clock: ManualClock;
  const open: StatsLedger[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "va-link-uses-"));
    file = join(dir, "stats.sqlite");
    logs = createCapturingLogger();
    clock = new ManualClock(T0);
  });
  afterEach(() => {
    for (const ledger of open.splice(0)) ledger.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A ledger on the file with its link-use counter, started (as the composition root builds them). */
  function start(): { uses: LedgerLinkUses; ledger: StatsLedger } {
    const uses = new LedgerLinkUses(clock, logs.logger, new MemoryLinkUses(clock));
    const ledger = StatsLedger.open(file, 60_000, new MemorySessionStore(clock, logs.logger), clock, logs.logger, { linkUses: uses });
    open.push(ledger);
    return { uses, ledger };
  }
  const rows = () => {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare("SELECT key, used, until_ms AS untilMs FROM link_uses ORDER BY key").all();
    } finally {
      db.close();
    }
  };
  const use = (key: string, max: number, untilMs = T0 + 600_000) => ({ key, max, untilMs });

  it("counts up to max, and a restarted ledger on the same file still refuses a spent link", () => {
    const first = start();
    expect(first.uses.takeNow(use("a", 1))).to.equal(true);
    expect(first.uses.takeNow(use("a", 1))).to.equal(false);
    expect(first.uses.takeNow(use("b", 2))).to.equal(true);
    first.ledger.close();
    open.splice(0);
    const second = start();
    expect(second.uses.takeNow(use("a", 1)), "spent before the restart").to.equal(false);
    expect(second.uses.takeNow(use("b", 2)), "one use left").to.equal(true);
    expect(second.uses.takeNow(use("b", 2))).to.equal(false);
    expect(second.uses.used("b")).to.equal(2);
  });

  it("gives a use back (a session that never played) and drops a row whose count is back to 0", () => {
    const { uses } = start();
    expect(uses.takeNow(use("a", 2))).to.equal(true);
    expect(uses.takeNow(use("a", 2))).to.equal(true);
    uses.giveBack(use("a", 2));
    expect(uses.used("a")).to.equal(1);
    uses.giveBack(use("a", 2));
    expect(rows()).to.deep.equal([]);
    expect(uses.takeNow(use("a", 1))).to.equal(true);
  });

  it("purges the rows of links that ended, at open and once a minute on the way of a take", () => {
    const { uses, ledger } = start();
    uses.takeNow(use("short", 1, T0 + 1000));
    uses.takeNow(use("long", 1, T0 + 3_600_000));
    expect(rows()).to.have.length(2);
    clock.advance(61_000);
    uses.takeNow(use("new", 1, T0 + 3_600_000));
    expect(rows().map((r: any) => r.key)).to.deep.equal(["long", "new"]);
    ledger.close();
    open.splice(0);
    clock.advance(3_600_000);
    start();
    expect(rows(), "purged at open").to.deep.equal([]);
  });

  it(`holds at most ${MAX_LINK_USE_ROWS} links: beyond, new links are counted in memory (still bounded) and it is logged`, () => {
    const { uses, ledger } = start();
    ledger.close();
    open.splice(0);
    const db = new Database(file);
    const insert = db.prepare("INSERT INTO link_uses (key, used, until_ms) VALUES (?, 1, ?)");
    db.transaction(() => {
      for (let i = 0; i < MAX_LINK_USE_ROWS; i++) insert.run(`k${i}`, T0 + 3_600_000);
    })();
    db.close();
    const full = start().uses;
    expect(full.takeNow(use("k1", 1)), "a link in the table is counted there").to.equal(false);
    expect(full.takeNow(use("overflow", 1))).to.equal(true);
    expect(full.takeNow(use("overflow", 1)), "the memory count still bounds it").to.equal(false);
    expect(rows()).to.have.length(MAX_LINK_USE_ROWS);
    expect(logs.events("stats.link_uses_failed").at(-1)).to.include({ why: "full" });
    expect(uses.takeNow(use("before-start", 1)), "an unopened counter counts in memory").to.equal(true);
  });

  it("a write the database refuses (locked by another process) is counted in memory: the viewer is not refused, the link stays bounded", () => {
    const { uses } = start();
    const other = new Database(file);
    other.exec("BEGIN EXCLUSIVE");
    try {
      expect(uses.takeNow(use("locked", 1))).to.equal(true);
      expect(uses.takeNow(use("locked", 1)), "the memory count bounds it").to.equal(false);
      expect(logs.events("stats.link_uses_failed").at(-1)).to.include({ why: "write" });
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
    expect(uses.takeNow(use("locked", 1)), "still counted in memory once the lock is gone").to.equal(false);
    expect(rows()).to.deep.equal([]);
  });

  it("counts in memory while the ledger is not open, and after it closed", () => {
    const unopened = new LedgerLinkUses(clock, logs.logger, new MemoryLinkUses(clock));
    expect(unopened.takeNow(use("a", 1))).to.equal(true);
    expect(unopened.takeNow(use("a", 1))).to.equal(false);
    const { uses, ledger } = start();
    ledger.close();
    open.splice(0);
    expect(uses.takeNow(use("b", 1))).to.equal(true);
    expect(uses.takeNow(use("b", 1))).to.equal(false);
    expect(rows()).to.deep.equal([]);
  });
});
