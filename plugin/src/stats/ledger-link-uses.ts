import type Database from "better-sqlite3";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/log.js";
import { LogRateLimit } from "../core/log-rate-limit.js";
import type { CountedUse, UseCounter } from "../core/use-counter.js";

/** Rows the `link_uses` table holds at most: links still valid that started a session. Beyond it, new links are counted in memory. */
export const MAX_LINK_USE_ROWS = 100_000;
/** How often rows of links that ended are purged, ms (on the way of a `take`: no timer). */
const PURGE_EVERY_MS = 60_000;
/** Expired rows one purge removes at most, so a purge never blocks the event loop long. */
const PURGE_BATCH = 5_000;
const FAILURE_LOG_INTERVAL_MS = 60_000;

/** The prepared statements over the open ledger's `link_uses` table. */
interface OpenUses {
  readonly take: Database.Statement;
  readonly has: Database.Statement;
  readonly giveBack: Database.Statement;
  readonly dropEmpty: Database.Statement;
  readonly purge: Database.Statement;
  readonly count: Database.Statement;
  readonly used: Database.Statement;
}

/** The in-process counter used where the database cannot count (`MemoryLinkUses`, given by the composition root). */
export type InMemoryUseCounter = UseCounter & { takeNow(use: CountedUse): boolean; used(key: string): number };

/**
 * LedgerLinkUses counts the uses of signed links with `maxUses` in the statistics database (`link_uses`:
 * one row per link key, its count and its end), so a restarted server still refuses a spent link. A
 * row lives until the link's end and is purged then (at open and at most once a minute after), so the
 * table holds only links still valid that started a session, at most MAX_LINK_USE_ROWS.
 *
 * `take` is one SQLite statement run synchronously (an upsert that raises the count only below `max`),
 * so no two admissions slip in between a read and a write. What the database cannot take (the ledger
 * not open yet or closed, a lock, a full disk, a full table) is counted in memory instead (`fallback`,
 * this process only), logged as `stats.link_uses_failed` at most once a minute: a viewer is never
 * refused for the database's trouble, and the process still bounds the link.
 */
export class LedgerLinkUses implements UseCounter {
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #fallback: InMemoryUseCounter;
  readonly #failureLog: LogRateLimit;
  #open: OpenUses | undefined;
  #nextPurgeMs = 0;
  /** Rows in the table now. */
  #rows = 0;

  constructor(clock: Clock, log: Logger, fallback: InMemoryUseCounter) {
    this.#clock = clock;
    this.#log = log;
    this.#fallback = fallback;
    this.#failureLog = new LogRateLimit(clock, FAILURE_LOG_INTERVAL_MS);
  }

  /** Starts counting in the ledger's database (its `link_uses` table exists: the ledger's schema) and purges ended links. */
  open(database: object): void {
    // A better-sqlite3 Database, typed loosely so that the package's declarations do not name an optional peer.
    const db = database as Database.Database;
    this.#open = {
      take: db.prepare(`INSERT INTO link_uses (key, used, until_ms) VALUES (@key, 1, @untilMs)
        ON CONFLICT (key) DO UPDATE SET used = used + 1, until_ms = MAX(until_ms, excluded.until_ms) WHERE used < @max`),
      has: db.prepare("SELECT 1 FROM link_uses WHERE key = ?"),
      giveBack: db.prepare("UPDATE link_uses SET used = used - 1 WHERE key = ?"),
      dropEmpty: db.prepare("DELETE FROM link_uses WHERE key = ? AND used <= 0"),
      purge: db.prepare(`DELETE FROM link_uses WHERE key IN (SELECT key FROM link_uses WHERE until_ms <= ? LIMIT ${PURGE_BATCH})`),
      count: db.prepare("SELECT COUNT(*) AS n FROM link_uses"),
      used: db.prepare("SELECT used FROM link_uses WHERE key = ?"),
    };
    // Counted once here and followed on each insert and delete after: a take never counts the table.
    this.#rows = (this.#open.count.get() as { n: number }).n;
    this.#nextPurgeMs = 0;
    this.#purgeIfDue();
  }

  /** Stops using the database (the ledger closes it); later counts are kept in memory. */
  release(): void {
    this.#open = undefined;
  }

  take(use: CountedUse): Promise<boolean> {
    return Promise.resolve(this.takeNow(use));
  }

  /** `take`, synchronously. */
  takeNow(use: CountedUse): boolean {
    if (use.max < 1) return false;
    const sql = this.#open;
    if (sql === undefined || this.#fallback.used(use.key) > 0) return this.#fallback.takeNow(use);
    try {
      this.#purgeIfDue();
      const isNew = sql.has.get(use.key) === undefined;
      if (isNew && this.#rows >= MAX_LINK_USE_ROWS) {
        this.#failed("full", undefined);
        return this.#fallback.takeNow(use);
      }
      const taken = sql.take.run({ key: use.key, untilMs: use.untilMs, max: use.max }).changes === 1;
      if (taken && isNew) this.#rows++;
      return taken;
    } catch (error) {
      this.#failed("write", error);
      return this.#fallback.takeNow(use);
    }
  }

  giveBack(use: CountedUse): void {
    const sql = this.#open;
    if (sql === undefined || this.#fallback.used(use.key) > 0) {
      this.#fallback.giveBack(use);
      return;
    }
    try {
      sql.giveBack.run(use.key);
      this.#rows -= sql.dropEmpty.run(use.key).changes;
    } catch (error) {
      this.#failed("write", error);
    }
  }

  /** Uses counted for a link key, in the database or in memory (0 when none, or purged). */
  used(key: string): number {
    const row = this.#open?.used.get(key) as { used: number } | undefined;
    return row?.used ?? this.#fallback.used(key);
  }

  #purgeIfDue(): void {
    const now = this.#clock.now();
    if (this.#open === undefined || now < this.#nextPurgeMs) return;
    this.#nextPurgeMs = now + PURGE_EVERY_MS;
    this.#rows -= this.#open.purge.run(now).changes;
  }

  #failed(why: "full" | "write", error: unknown): void {
    const failures = this.#failureLog.hit();
    if (failures === 0) return;
    this.#log.warn(
      { event: "stats.link_uses_failed", why, failures, ...(error === undefined ? {} : { err: error }) },
      why === "full"
        ? `the link_uses table holds ${MAX_LINK_USE_ROWS} links; counting new links in memory (a restart forgets them)`
        : "counting a link's use in the statistics database failed; counting it in memory (a restart forgets it)",
    );
  }
}
