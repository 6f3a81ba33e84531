import { chmodSync, closeSync, mkdirSync, openSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type Database from "better-sqlite3";
import type { Clock } from "../core/clock.js";
import { ConfigError } from "../core/errors.js";
import { guarded } from "../core/guarded.js";
import type { Logger } from "../core/log.js";
import { pluginRequire } from "../core/plugin-require.cjs";
import { LogRateLimit } from "../core/log-rate-limit.js";
import type { SessionStore } from "../core/session-store.js";
import { hasPlayed, snapshotOf, type SessionSnapshot, type ViewerSession } from "../core/viewer-session.js";
import { MinuteQuota } from "../core/minute-quota.js";
import { RefusalTally, type RefusalCount } from "./refusal-tally.js";
import type { LedgerLinkUses } from "./ledger-link-uses.js";

/** Aggregated viewing over a time range, per channel or per user. */
export interface UsageRow {
  key: string;
  sessions: number;
  watchSeconds: number;
  bytesOut: number;
}

/** One closed session of a user, as the per-user page lists it (times in ms since the epoch). */
export interface UserSessionRow {
  id: string;
  channel: string;
  ip: string;
  protocol: string;
  userAgent: string | null;
  startedAt: number;
  playingSince: number | null;
  endedAt: number;
  endReason: string;
  bytesOut: number;
}

/** One bucket of the viewer history: the most viewers `channel` (`app/name`) had at once in the bucket starting at `at`. */
export interface HistoryPoint {
  channel: string;
  at: number;
  viewers: number;
}

/** Aggregated viewing of one channel or user on one UTC day (`day`: YYYY-MM-DD). */
export interface DailyUsageRow extends UsageRow {
  day: string;
}

/** How the ledger copes with a database that is slow, locked, full or refuses rows. */
export interface StatsLedgerOptions {
  /** How long one write waits for a lock held by another connection (ms) before it is retried at the next flush. Default 50. */
  busyTimeoutMs?: number;
  /** Closed sessions kept in memory while writes fail; beyond this the oldest are dropped. Default 100,000. */
  maxPendingRows?: number;
  /** Days to keep sessions that never played; 0 = do not store them. Default 7. */
  deniedRetentionDays?: number;
  /** Days to keep every session; 0 = forever. Default 0. */
  retentionDays?: number;
  /** Counts signed links' uses in this database (`link_uses`) while it is open, so they survive a restart. */
  linkUses?: LedgerLinkUses;
}

/** Refusal counters summed over a time range (`refusals`). */
export interface RefusalRow {
  reason: string;
  stage: string;
  channel: string;
  protocol: string;
  /** True for identified viewers' refusals beyond their individual rows (IDENTIFIED_ROWS_PER_MINUTE). */
  identified: boolean;
  count: number;
  /** The first and last minute counted (ISO 8601). */
  firstMinute: string;
  lastMinute: string;
}

/** Individual rows per minute for one identity's sessions that never played (refused by a limit, revoked, …); the rest are counted. */
export const IDENTIFIED_ROWS_PER_IDENTITY = 5;
/** Distinct identities per minute that get individual rows for sessions that never played; the rest are counted. */
export const IDENTIFIED_IDENTITIES_PER_MINUTE = 200;
/** Rows `refusals` returns at most (the largest counts). */
export const MAX_REFUSAL_ROWS = 1_000;
/** The schema version this code writes (`PRAGMA user_version`); older files are upgraded in place at open. */
export const LEDGER_SCHEMA_VERSION = 3;

/** Why closed sessions were lost instead of written. */
export const DROP_REASONS = ["overflow", "rejected", "closed"] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** Running totals of the ledger's troubles, for `/metrics`. */
export interface LedgerCounters {
  /** Flushes (and purges) the database refused. */
  writeFailures: number;
  /** Closed sessions lost: `overflow` (more than maxPendingRows waiting), `rejected` (the database refused the row itself), `closed` (still unwritten at close). */
  rowsDropped: Record<DropReason, number>;
  /** Rows removed by the retention purge. */
  rowsPurged: number;
  /** Closed sessions waiting to be written now. */
  pendingRows: number;
}

const COLUMNS = "id, name, user_id, app, channel, ip, protocol, user_agent, started_at, playing_since, last_activity_at, bytes_out";

/**
 * Longest text stored per column, in UTF-16 code units. Viewers choose most of these (a User-Agent or
 * RTMP `flashVer`, a stream name): uncapped, 50 plays with a 1 MiB `flashVer` grew the file by 77 MB.
 */
export const TEXT_LIMITS = {
  id: 64,
  name: 256,
  userId: 256,
  app: 128,
  channel: 256,
  ip: 64,
  protocol: 16,
  userAgent: 512,
  endReason: 32,
} as const;

/** Rows written per flush at most, so catching up after an outage blocks the event loop ~150 ms at a time (README benchmark: 176,600 rows/s), not seconds. */
const MAX_ROWS_PER_FLUSH = 25_000;
/** Rows purged per flush at most, for the same reason. */
const PURGE_BATCH = 5_000;
const PURGE_INTERVAL_MS = 3_600_000;
/** A failing database is logged once, then at most once per this interval with the count. */
const FAILURE_LOG_INTERVAL_MS = 60_000;
/** Opening may wait for a lock longer than a flush may: nothing listens yet, so no viewer waits. */
const OPEN_BUSY_TIMEOUT_MS = 5_000;
const DAY_MS = 86_400_000;
/** Minutes of refusal counters one purge statement removes at most (10 minutes: at most ~10 × REFUSAL_KEYS_PER_MINUTE rows). */
const REFUSAL_PURGE_SPAN_MS = 600_000;

/** One row as bound to the INSERT statements: every value already coerced to its column's type and capped. */
type Row = Record<string, string | number | null>;

/**
 * StatsLedger appends every closed session to an SQLite file. Writes are batched and flushed every
 * `flushIntervalMs` in one transaction; playing sessions are mirrored in `live_sessions` with a
 * heartbeat, so after a crash the next start records them as "server-stopped" at their last
 * heartbeat: a SIGKILL loses at most one flush interval of accounting.
 *
 * Nothing the database does can stop the server: a write that fails (locked by another process, disk
 * full, I/O error) is logged as `stats.write_failed` (rate-limited), counted, and retried at the next
 * flush, while the closed sessions wait in memory up to `maxPendingRows` (then the oldest are dropped
 * and counted). A lock costs each flush at most `busyTimeoutMs` of event-loop time. A row the
 * database refuses by itself (a constraint) is dropped alone, so it cannot hold back the others.
 * Free-text columns are coerced to text and capped (TEXT_LIMITS) before they reach a bind. Sessions
 * that never played are kept `deniedRetentionDays`, every session `retentionDays` (0 = forever),
 * purged at start and hourly.
 */
export class StatsLedger {
  readonly #file: string;
  readonly #sqlite: typeof Database;
  readonly #flushIntervalMs: number;
  readonly #busyTimeoutMs: number;
  /** The open database and what runs while it is open; undefined before `start` and after `close`. */
  #open: OpenLedger | undefined;
  readonly #registry: SessionStore;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #pending: Row[] = [];
  readonly #maxPendingRows: number;
  readonly #deniedRetentionDays: number;
  readonly #retentionDays: number;
  readonly #linkUses: LedgerLinkUses | undefined;
  readonly #failureLog: LogRateLimit;
  readonly #dropLog: LogRateLimit;
  readonly #refusals = new RefusalTally();
  readonly #identifiedQuota = new MinuteQuota(IDENTIFIED_ROWS_PER_IDENTITY, IDENTIFIED_IDENTITIES_PER_MINUTE);
  readonly #counters: Omit<LedgerCounters, "pendingRows"> = {
    writeFailures: 0,
    rowsDropped: { overflow: 0, rejected: 0, closed: 0 },
    rowsPurged: 0,
  };
  /** Failures since the last successful write; > 0 while the database is refusing writes. */
  #failingSince: { at: number; failures: number } | undefined;
  #recovered = false;
  /** The code of the latest failed write, for the line that reports rows lost at close. */
  #lastFailureCode: string | undefined;
  #nextPurgeAt = 0;
  #purgedThisRound = 0;
  #closed = false;

  /**
   * Keeps the settings and loads better-sqlite3 (a ConfigError at `stats.file` when it is missing); the
   * file is opened, the flush timer started and the store listened to by `start`.
   */
  constructor(file: string, flushIntervalMs: number, registry: SessionStore, clock: Clock, log: Logger, options: StatsLedgerOptions = {}) {
    this.#file = file;
    // Loaded here (a module, no file opened): a missing better-sqlite3 is a ConfigError at build.
    this.#sqlite = loadBetterSqlite(file);
    this.#flushIntervalMs = flushIntervalMs;
    this.#busyTimeoutMs = Math.max(0, Math.trunc(options.busyTimeoutMs ?? 50));
    this.#registry = registry;
    this.#clock = clock;
    this.#log = log;
    this.#maxPendingRows = options.maxPendingRows ?? 100_000;
    this.#deniedRetentionDays = options.deniedRetentionDays ?? 7;
    this.#retentionDays = options.retentionDays ?? 0;
    this.#linkUses = options.linkUses;
    this.#failureLog = new LogRateLimit(clock, FAILURE_LOG_INTERVAL_MS);
    this.#dropLog = new LogRateLimit(clock, FAILURE_LOG_INTERVAL_MS);
  }

  /** A ledger built and started at once (`new StatsLedger(…)` then `start()`). */
  static open(
    file: string,
    flushIntervalMs: number,
    registry: SessionStore,
    clock: Clock,
    log: Logger,
    options: StatsLedgerOptions = {},
  ): StatsLedger {
    const ledger = new StatsLedger(file, flushIntervalMs, registry, clock, log, options);
    ledger.start();
    return ledger;
  }

  /**
   * Opens the file (made 0600 first, its schema upgraded), starts recording the store's ended sessions
   * and the flush timer, and flushes once: the sessions a crash left live are recorded, and old rows
   * purged, before the first viewer. Throws a ConfigError when better-sqlite3 is missing. Once only.
   */
  start(): void {
    if (this.#open !== undefined || this.#closed) return;
    const file = this.#file;
    makeLedgerFilePrivate(file);
    const db = new this.#sqlite(file, { timeout: OPEN_BUSY_TIMEOUT_MS });
    try {
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = NORMAL");
      migrate(db, file);
      // From here on every write runs while viewers are served: wait for a lock only briefly.
      db.pragma(`busy_timeout = ${this.#busyTimeoutMs}`);
    } catch (error) {
      db.close();
      throw error;
    }
    const onEnded = guarded(this.#log, "stats.listener_failed", (s: ViewerSession) => this.#enqueue(s));
    const timer = setInterval(
      guarded(this.#log, "stats.flush_failed", () => this.flush()),
      this.#flushIntervalMs,
    );
    timer.unref();
    this.#open = {
      db,
      timer,
      unsubscribe: this.#registry.subscribe("ended", onEnded),
      insertEnded: db.prepare(`INSERT OR REPLACE INTO sessions (${COLUMNS}, ended_at, end_reason)
      VALUES (@id, @name, @userId, @app, @channel, @ip, @protocol, @userAgent, @startedAt, @playingSince, @lastActivityAt, @bytesOut, @endedAt, @endReason)`),
      deleteStaleLive: db.prepare("DELETE FROM live_sessions WHERE id NOT IN (SELECT value FROM json_each(?))"),
      upsertLive: db.prepare(`INSERT OR REPLACE INTO live_sessions (${COLUMNS})
      VALUES (@id, @name, @userId, @app, @channel, @ip, @protocol, @userAgent, @startedAt, @playingSince, @lastActivityAt, @bytesOut)`),
      purgeUnplayed: db.prepare(`DELETE FROM sessions WHERE rowid IN
      (SELECT rowid FROM sessions WHERE playing_since IS NULL AND started_at < ? LIMIT ${PURGE_BATCH})`),
      purgeAll: db.prepare(`DELETE FROM sessions WHERE rowid IN (SELECT rowid FROM sessions WHERE started_at < ? LIMIT ${PURGE_BATCH})`),
      upsertRefusal: db.prepare(`INSERT INTO refusals (minute, reason, stage, channel, protocol, identified, count)
      VALUES (@minute, @reason, @stage, @channel, @protocol, @identified, @count)
      ON CONFLICT (minute, reason, stage, channel, protocol, identified) DO UPDATE SET count = count + excluded.count`),
      // At most REFUSAL_PURGE_SPAN_MS of counters per statement (about 10 × 1,000 rows), like PURGE_BATCH for sessions.
      purgeRefusals: db.prepare(
        `DELETE FROM refusals WHERE minute < MIN(?, (SELECT MIN(minute) FROM refusals) + ${REFUSAL_PURGE_SPAN_MS})`,
      ),
    };
    this.flush(); // records the sessions a crash left live, and purges, before the first viewer
    this.#linkUses?.open(db);
  }

  /**
   * The open database for the audit of operator actions (stats/audit-trail.ts), which shares the file;
   * undefined when not open. A better-sqlite3 Database, typed loosely so that the package's declarations
   * do not name an optional peer.
   */
  get database(): object | undefined {
    return this.#open?.db;
  }

  /** The open database; reading statistics before `start` is a programming error. */
  get #sql(): OpenLedger {
    if (this.#open === undefined)
      throw new Error(this.#closed ? "the statistics ledger is closed" : "the statistics ledger is not started");
    return this.#open;
  }

  /**
   * Writes waiting closed sessions and the live heartbeat in one transaction, then purges old rows when
   * due. Never throws: a failure is logged and counted, and the rows wait for the next flush.
   */
  flush(): void {
    if (this.#open === undefined) return;
    if (this.#write()) this.#purgeIfDue();
  }

  /** The ledger's troubles so far (write failures, dropped and purged rows) and the rows waiting now. */
  counters(): LedgerCounters {
    return { ...this.#counters, rowsDropped: { ...this.#counters.rowsDropped }, pendingRows: this.#pending.length };
  }

  /**
   * Refusals and other sessions that never played without an identity, counted per minute (`refusals`
   * table), summed over the minutes in [from, to): the largest MAX_REFUSAL_ROWS counters, and the total.
   */
  refusals(fromMs: number, toMs: number): { total: number; rows: RefusalRow[] } {
    this.flush();
    const total = (
      this.#sql.db.prepare("SELECT COALESCE(SUM(count), 0) AS total FROM refusals WHERE minute >= ? AND minute < ?").get(fromMs, toMs) as {
        total: number;
      }
    ).total;
    const rows = this.#sql.db
      .prepare(
        `SELECT reason, stage, channel, protocol, identified, SUM(count) AS count, MIN(minute) AS first, MAX(minute) AS last
      FROM refusals WHERE minute >= ? AND minute < ? GROUP BY reason, stage, channel, protocol, identified
      ORDER BY count DESC, reason, stage, channel, protocol LIMIT ${MAX_REFUSAL_ROWS}`,
      )
      .all(fromMs, toMs) as (Omit<RefusalRow, "identified" | "firstMinute" | "lastMinute"> & {
      identified: number;
      first: number;
      last: number;
    })[];
    return {
      total,
      rows: rows.map(({ first, last, identified, ...r }) => ({
        ...r,
        identified: identified === 1,
        firstMinute: new Date(first).toISOString(),
        lastMinute: new Date(last).toISOString(),
      })),
    };
  }

  /** Sessions, watch time and bytes per channel (`app/channel`) or per user, started in [from, to). */
  usage(by: "channel" | "user", fromMs: number, toMs: number): UsageRow[] {
    this.flush();
    const key = by === "channel" ? "app || '/' || channel" : "COALESCE(user_id, name, '(anonymous)')";
    return this.#sql.db
      .prepare(
        `SELECT ${key} AS key, COUNT(*) AS sessions,
        CAST(ROUND(SUM(ended_at - playing_since) / 1000.0) AS INTEGER) AS watchSeconds, SUM(bytes_out) AS bytesOut
      FROM sessions WHERE playing_since IS NOT NULL AND started_at >= ? AND started_at < ? GROUP BY key ORDER BY key`,
      )
      .all(fromMs, toMs) as UsageRow[];
  }

  /** `usage` per UTC day (by the session's start), oldest day first. */
  dailyUsage(by: "channel" | "user", fromMs: number, toMs: number): DailyUsageRow[] {
    this.flush();
    const key = by === "channel" ? "app || '/' || channel" : "COALESCE(user_id, name, '(anonymous)')";
    return this.#sql.db
      .prepare(
        `SELECT date(started_at / 1000, 'unixepoch') AS day, ${key} AS key, COUNT(*) AS sessions,
        CAST(ROUND(SUM(ended_at - playing_since) / 1000.0) AS INTEGER) AS watchSeconds, SUM(bytes_out) AS bytesOut
      FROM sessions WHERE playing_since IS NOT NULL AND started_at >= ? AND started_at < ? GROUP BY day, key ORDER BY day, key`,
      )
      .all(fromMs, toMs) as DailyUsageRow[];
  }

  /**
   * Every closed session started in [from, to), oldest first, as CSV with a header line. Cells that a
   * spreadsheet would run as a formula are defused (see csvField).
   */
  exportCsv(fromMs: number, toMs: number): string {
    this.flush();
    const rows = this.#sql.db
      .prepare(
        `SELECT ${COLUMNS}, ended_at, end_reason FROM sessions
      WHERE started_at >= ? AND started_at < ? ORDER BY started_at`,
      )
      .all(fromMs, toMs) as Record<string, unknown>[];
    const header = [...COLUMNS.split(", "), "ended_at", "end_reason"];
    const lines = rows.map((r) =>
      header.map((h) => csvField(isTime(h) && r[h] !== null ? new Date(Number(r[h])).toISOString() : r[h])).join(","),
    );
    return [header.join(","), ...lines].join("\r\n") + "\r\n";
  }

  /**
   * The newest `limit` closed sessions of one user (its user id, or the session name when it has none),
   * newest first: address, player, channel, times and bytes, for the console's per-user page.
   */
  userSessions(user: string, limit: number): UserSessionRow[] {
    this.flush();
    return this.#sql.db
      .prepare(
        `SELECT id, app || '/' || channel AS channel, ip, protocol, user_agent AS userAgent, started_at AS startedAt,
        playing_since AS playingSince, ended_at AS endedAt, end_reason AS endReason, bytes_out AS bytesOut
      FROM sessions WHERE COALESCE(user_id, name) = ? ORDER BY started_at DESC LIMIT ?`,
      )
      .all(user, limit) as UserSessionRow[];
  }

  /** The viewer history's buckets of one resolution from `fromMs` on, oldest first. */
  historyPoints(resolutionSec: number, fromMs: number): HistoryPoint[] {
    return this.#sql.db
      .prepare("SELECT channel, at, viewers FROM viewer_history WHERE resolution_sec = ? AND at >= ? ORDER BY at, channel")
      .all(resolutionSec, fromMs) as HistoryPoint[];
  }

  /**
   * Writes buckets of the viewer history (a bucket written again is replaced: the open one grows) and
   * deletes that resolution's buckets before `keepFromMs`, in one transaction. Throws what SQLite throws
   * (a locked or full database): the caller keeps the buckets in memory either way.
   */
  saveHistory(resolutionSec: number, points: readonly HistoryPoint[], keepFromMs: number): void {
    const db = this.#sql.db;
    const upsert = db.prepare("INSERT OR REPLACE INTO viewer_history (resolution_sec, channel, at, viewers) VALUES (?, ?, ?, ?)");
    const purge = db.prepare("DELETE FROM viewer_history WHERE resolution_sec = ? AND at < ?");
    db.transaction(() => {
      for (const p of points) upsert.run(resolutionSec, text(p.channel, TEXT_LIMITS.app + TEXT_LIMITS.channel + 1), p.at, p.viewers);
      purge.run(resolutionSec, keepFromMs);
    })();
  }

  /**
   * Stops the timer, makes a last attempt to write everything waiting, then closes the file. Never
   * throws: rows the database still refuses are logged and counted as dropped (`closed`).
   */
  close(): void {
    if (this.#closed) return;
    const open = this.#open;
    if (open === undefined) {
      this.#closed = true;
      return;
    }
    clearInterval(open.timer);
    open.unsubscribe();
    while (this.#write() && this.#pending.length > 0);
    if (this.#pending.length > 0) this.#drop("closed", this.#pending.splice(0).length);
    if (this.#refusals.size > 0) {
      this.#drop("closed", this.#refusals.size);
      this.#refusals.clear();
    }
    this.#closed = true;
    this.#open = undefined;
    this.#linkUses?.release();
    try {
      open.db.close();
    } catch (error) {
      this.#log.error({ event: "stats.write_failed", code: codeOf(error), err: error }, "closing the statistics database failed");
    }
  }

  /**
   * Queues a closed session for the next flush, within maxPendingRows. A session that never played (refused,
   * left during the check, an HLS session that fetched no segment) is a row only when it had an identity,
   * and then at most IDENTIFIED_ROWS_PER_IDENTITY a minute per identity: the others are counted per
   * minute (RefusalTally), so a flood of refused requests cannot grow the file per request.
   */
  #enqueue(session: ViewerSession): void {
    const s = snapshotOf(session);
    const endedAt = s.endedAt ?? this.#clock.now();
    const played = hasPlayed(session);
    if (!played) {
      // With no retention for them, sessions that never played are not stored at all.
      if (this.#deniedRetentionDays === 0) return;
      const identity = session.identity ?? session.refusal?.identity;
      const who = identity?.userId ?? identity?.name;
      if (who === undefined || !this.#identifiedQuota.take(text(who, TEXT_LIMITS.userId), endedAt)) {
        if (this.#refusals.size >= this.#maxPendingRows) return this.#drop("overflow", 1);
        return this.#refusals.add(session, endedAt, who !== undefined);
      }
      s.userId ??= identity?.userId;
      s.name ??= identity?.name;
    }
    if (this.#pending.length >= this.#maxPendingRows) {
      this.#drop("overflow", this.#pending.splice(0, this.#pending.length - this.#maxPendingRows + 1).length);
    }
    // An HLS session that fetched only playlists did not play: it follows the denied retention and is no usage.
    this.#pending.push(
      row({ ...s, playingSince: played ? s.playingSince : undefined }, { endedAt, endReason: s.endReason ?? "viewer-left" }),
    );
  }

  /** One transaction: crash recovery (once), up to MAX_ROWS_PER_FLUSH closed sessions, the live mirror. True when it committed. */
  #write(): boolean {
    const batch = this.#pending.slice(0, MAX_ROWS_PER_FLUSH);
    const counts: RefusalCount[] = this.#refusals.pending();
    const live = this.#liveRows();
    let rejected = 0;
    let recovered = 0;
    try {
      this.#sql.db.transaction(() => {
        if (!this.#recovered) recovered = this.#recoverCrashed();
        for (const r of batch) {
          if (!this.#tryRun(this.#sql.insertEnded, r)) rejected++;
        }
        for (const c of counts) {
          if (!this.#tryRun(this.#sql.upsertRefusal, c as unknown as Row)) rejected++;
        }
        this.#sql.deleteStaleLive.run(JSON.stringify(live.map((r) => r.id)));
        // A live row the database refuses is only a heartbeat: the session's final row is what counts.
        for (const r of live) this.#tryRun(this.#sql.upsertLive, r);
      })();
    } catch (error) {
      this.#writeFailed(error, "write");
      return false;
    }
    this.#pending.splice(0, batch.length);
    this.#refusals.clear();
    if (!this.#recovered) {
      this.#recovered = true;
      if (recovered > 0)
        this.#log.warn({ event: "stats.recovered", sessions: recovered }, "sessions live at the last stop recorded as server-stopped");
    }
    if (rejected > 0) this.#drop("rejected", rejected);
    this.#writeSucceeded();
    return true;
  }

  /**
   * Runs one row's statement. A failure that belongs to the row itself (a constraint, a value SQLite
   * will not take) returns false and spares the rest of the batch; SQLite has already undone just that
   * statement. A failure of the database (locked, full, I/O) is thrown and rolls the transaction back.
   */
  #tryRun(statement: Database.Statement, r: Row): boolean {
    try {
      statement.run(r);
      return true;
    } catch (error) {
      if (!isRowFault(error)) throw error;
      return false;
    }
  }

  /** The live heartbeat: one row per playing session. A session whose transport cannot say its bytes is left out this time. */
  #liveRows(): Row[] {
    const now = this.#clock.now();
    const rows: Row[] = [];
    for (const s of this.#registry.list({ state: "playing" })) {
      // An HLS session that fetched no segment yet is no viewing to recover after a crash.
      if (!hasPlayed(s)) continue;
      try {
        rows.push(row(snapshotOf(s, now)));
      } catch {
        // Only a transport's bytesOut() can throw here; the session's final row will carry its bytes.
      }
    }
    return rows;
  }

  /** Sessions that were live when the process died are closed at their last activity: the last heartbeat for RTMP/FLV, the last request for HLS. */
  #recoverCrashed(): number {
    const result = this.#sql.db
      .prepare(
        `INSERT OR REPLACE INTO sessions (${COLUMNS}, ended_at, end_reason)
      SELECT ${COLUMNS}, last_activity_at, 'server-stopped' FROM live_sessions`,
      )
      .run();
    this.#sql.db.prepare("DELETE FROM live_sessions").run();
    return result.changes;
  }

  /**
   * Deletes rows past their retention, PURGE_BATCH at a time: a backlog (retention just switched on)
   * is worked off over the following flushes instead of in one long block.
   */
  #purgeIfDue(): void {
    const now = this.#clock.now();
    if (now < this.#nextPurgeAt) return;
    let purged = 0;
    try {
      if (this.#retentionDays > 0) purged += this.#sql.purgeAll.run(now - this.#retentionDays * DAY_MS).changes;
      // 0 days keeps none: every never-played row goes, whenever it started.
      const unplayedCutoff = this.#deniedRetentionDays === 0 ? Number.MAX_SAFE_INTEGER : now - this.#deniedRetentionDays * DAY_MS;
      if (purged < PURGE_BATCH) purged += this.#sql.purgeUnplayed.run(unplayedCutoff).changes;
      if (purged < PURGE_BATCH) purged += this.#sql.purgeRefusals.run(unplayedCutoff).changes;
    } catch (error) {
      this.#writeFailed(error, "purge");
      return;
    }
    this.#counters.rowsPurged += purged;
    this.#purgedThisRound += purged;
    if (purged >= PURGE_BATCH) return; // more to do: again at the next flush
    this.#nextPurgeAt = now + PURGE_INTERVAL_MS;
    if (this.#purgedThisRound > 0) {
      this.#log.info(
        {
          event: "stats.purged",
          rows: this.#purgedThisRound,
          deniedRetentionDays: this.#deniedRetentionDays,
          retentionDays: this.#retentionDays,
        },
        "old sessions purged from the statistics ledger",
      );
    }
    this.#purgedThisRound = 0;
  }

  #writeFailed(error: unknown, operation: "write" | "purge"): void {
    this.#counters.writeFailures++;
    this.#lastFailureCode = codeOf(error) ?? (error instanceof Error ? error.name : "unknown");
    this.#failingSince ??= { at: this.#clock.now(), failures: 0 };
    this.#failingSince.failures++;
    const failures = this.#failureLog.hit();
    if (failures === 0) return;
    this.#log.error(
      {
        event: "stats.write_failed",
        operation,
        code: codeOf(error),
        err: error,
        failures,
        pendingRows: this.#pending.length,
        maxPendingRows: this.#maxPendingRows,
      },
      "writing statistics failed; the rows are kept in memory and retried at the next flush",
    );
  }

  #writeSucceeded(): void {
    if (this.#failingSince === undefined) return;
    const { at, failures } = this.#failingSince;
    this.#failingSince = undefined;
    this.#failureLog.reset();
    this.#log.info({ event: "stats.write_recovered", failures, outageMs: this.#clock.now() - at }, "statistics are written again");
  }

  #drop(reason: DropReason, rows: number): void {
    if (rows === 0) return;
    this.#counters.rowsDropped[reason] += rows;
    // Rows lost at close are always reported: there is no later line to carry them.
    const count = reason === "closed" ? rows : this.#dropLog.hit();
    if (count === 0) return;
    this.#log.error(
      {
        event: "stats.rows_dropped",
        reason,
        rows,
        droppedTotal: this.#counters.rowsDropped[reason],
        ...(reason === "closed" ? { lastFailureCode: this.#lastFailureCode } : { occurrences: count }),
      },
      "closed sessions were dropped from the statistics ledger",
    );
  }
}

/**
 * Brings the file to LEDGER_SCHEMA_VERSION in one transaction, keeping every row. Version 0 is a new file
 * or one written before versions were recorded (its tables are created if missing, so either works); 2
 * adds the per-minute refusal counters; 3 the counts of signed links' uses (`link_uses`), the audit of operator actions (`audit`) and the viewer history (`viewer_history`). A file from a newer version is refused rather than misread.
 */
function migrate(db: Database.Database, file: string): void {
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > LEDGER_SCHEMA_VERSION) {
    throw new ConfigError([
      {
        path: "stats.file",
        message: `was written by a newer version (schema ${version}; this one reads up to ${LEDGER_SCHEMA_VERSION})`,
        value: file,
      },
    ]);
  }
  if (version === LEDGER_SCHEMA_VERSION) return;
  db.transaction(() => {
    if (version < 1) {
      db.exec(`
        CREATE TABLE IF NOT EXISTS sessions (
          id TEXT PRIMARY KEY, name TEXT, user_id TEXT, app TEXT NOT NULL, channel TEXT NOT NULL, ip TEXT NOT NULL,
          protocol TEXT NOT NULL, user_agent TEXT, started_at INTEGER NOT NULL, playing_since INTEGER, last_activity_at INTEGER NOT NULL,
          bytes_out INTEGER NOT NULL, ended_at INTEGER NOT NULL, end_reason TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS sessions_started ON sessions (started_at);
        CREATE INDEX IF NOT EXISTS sessions_unplayed_started ON sessions (started_at) WHERE playing_since IS NULL;
        CREATE TABLE IF NOT EXISTS live_sessions (
          id TEXT PRIMARY KEY, name TEXT, user_id TEXT, app TEXT NOT NULL, channel TEXT NOT NULL, ip TEXT NOT NULL,
          protocol TEXT NOT NULL, user_agent TEXT, started_at INTEGER NOT NULL, playing_since INTEGER, last_activity_at INTEGER NOT NULL,
          bytes_out INTEGER NOT NULL);`);
    }
    if (version < 2) {
      // One row per minute and kind of refusal: the primary key is the row (no rowid), minute first so a purge reads a prefix.
      db.exec(`
        CREATE TABLE IF NOT EXISTS refusals (
          minute INTEGER NOT NULL, reason TEXT NOT NULL, stage TEXT NOT NULL, channel TEXT NOT NULL, protocol TEXT NOT NULL,
          identified INTEGER NOT NULL, count INTEGER NOT NULL,
          PRIMARY KEY (minute, reason, stage, channel, protocol, identified)) WITHOUT ROWID;`);
    }
    if (version < 3) {
      // The uses of signed links with maxUses (LedgerLinkUses): one row per link still valid, keyed by its credential key.
      db.exec(`
        CREATE TABLE IF NOT EXISTS link_uses (
          key TEXT PRIMARY KEY, used INTEGER NOT NULL, until_ms INTEGER NOT NULL) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS link_uses_until ON link_uses (until_ms);`);
      // One row per operator action (stats/audit-trail.ts); `id` orders rows made in the same millisecond.
      db.exec(`
        CREATE TABLE IF NOT EXISTS audit (
          id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL, role TEXT, action TEXT NOT NULL,
          target TEXT, address TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS audit_at ON audit (at);`);
      // Concurrent viewers per channel at a fixed resolution (60 s for a day, 600 s for a week): one row per bucket with viewers.
      db.exec(`
        CREATE TABLE IF NOT EXISTS viewer_history (
          resolution_sec INTEGER NOT NULL, channel TEXT NOT NULL, at INTEGER NOT NULL, viewers INTEGER NOT NULL,
          PRIMARY KEY (resolution_sec, at, channel)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS sessions_user_started ON sessions (COALESCE(user_id, name), started_at);`);
    }
    db.pragma(`user_version = ${LEDGER_SCHEMA_VERSION}`);
  })();
}

/** The bind values of a snapshot: each column coerced to its type and capped, so no viewer-chosen value can fail or bloat a write. */
function row(s: SessionSnapshot, extra: { endedAt?: unknown; endReason?: unknown } = {}): Row {
  const r: Row = {
    id: text(s.id, TEXT_LIMITS.id),
    name: textOrNull(s.name, TEXT_LIMITS.name),
    userId: textOrNull(s.userId, TEXT_LIMITS.userId),
    app: text(s.app, TEXT_LIMITS.app),
    channel: text(s.channel, TEXT_LIMITS.channel),
    ip: text(s.ip, TEXT_LIMITS.ip),
    protocol: text(s.protocol, TEXT_LIMITS.protocol),
    userAgent: textOrNull(s.userAgent, TEXT_LIMITS.userAgent),
    startedAt: integer(s.startedAt) ?? 0,
    playingSince: integer(s.playingSince),
    lastActivityAt: integer(s.lastActivityAt) ?? integer(s.startedAt) ?? 0,
    bytesOut: integer(s.bytesOut) ?? 0,
  };
  if ("endedAt" in extra) {
    r.endedAt = integer(extra.endedAt) ?? r.lastActivityAt!;
    r.endReason = text(extra.endReason, TEXT_LIMITS.endReason);
  }
  return r;
}

/**
 * Any value as text of at most `max` code units. Strings are cut; numbers, booleans and bigints are
 * printed; objects and arrays (an AMF object where a string was expected) become `[object]`/`[array]`
 * without being printed: printing a million-element array just to cut it is the cost an attacker wants.
 */
function text(value: unknown, max: number): string {
  if (typeof value === "string") return value.length > max ? value.slice(0, max) : value;
  if (value === null || value === undefined) return "";
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value).slice(0, max);
  return Array.isArray(value) ? "[array]" : `[${typeof value}]`;
}

function textOrNull(value: unknown, max: number): string | null {
  return value === null || value === undefined ? null : text(value, max);
}

/** A finite number as an integer, else null. */
function integer(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? Math.trunc(value) : null;
}

/** Errors that belong to one row rather than to the database: retrying them would fail forever. */
function isRowFault(error: unknown): boolean {
  const code = codeOf(error);
  if (code === undefined) return error instanceof TypeError || error instanceof RangeError; // a bind better-sqlite3 refused
  return code.startsWith("SQLITE_CONSTRAINT") || code === "SQLITE_MISMATCH" || code === "SQLITE_TOOBIG";
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * One CSV cell. Quoted when it holds a quote, comma or line break; and a cell that starts with
 * `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'` (the OWASP rule against CSV
 * injection): a spreadsheet would otherwise run a viewer-chosen User-Agent or name as a formula.
 */
function csvField(value: unknown): string {
  let text = value === null || value === undefined ? "" : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function isTime(column: string): boolean {
  return column.endsWith("_at") || column === "playing_since";
}

/**
 * better-sqlite3, loaded only when statistics are on: it is an optional peer dependency (a native
 * module most installs never need), so a missing one is a configuration problem named by its key.
 */
function loadBetterSqlite(file: string): typeof Database {
  try {
    return pluginRequire("better-sqlite3") as typeof Database;
  } catch (error) {
    if ((error as { code?: unknown }).code !== "MODULE_NOT_FOUND") throw error;
    throw new ConfigError([
      { path: "stats.file", message: "needs the better-sqlite3 package for statistics: npm install better-sqlite3@12", value: file },
    ]);
  }
}

/** The open database, its prepared statements, its flush timer and its subscription to the store. */
interface OpenLedger {
  readonly db: Database.Database;
  readonly timer: NodeJS.Timeout;
  readonly unsubscribe: () => void;
  readonly insertEnded: Database.Statement;
  readonly deleteStaleLive: Database.Statement;
  readonly upsertLive: Database.Statement;
  readonly purgeUnplayed: Database.Statement;
  readonly purgeAll: Database.Statement;
  readonly upsertRefusal: Database.Statement;
  readonly purgeRefusals: Database.Statement;
}

/** Mode of the ledger's files (viewers' addresses and user agents): its owner's only. */
const LEDGER_FILE_MODE = 0o600;

/**
 * Creates the database file 0600 before SQLite opens it, whatever the host app's umask (the plugin never
 * changes the umask: it is the app's): SQLite then gives its -wal and -shm files the database's mode.
 * A missing folder is made 0700; files an older version left readable by others are narrowed to 0600.
 * `:memory:` and other names SQLite does not keep on disk are left alone.
 */
function makeLedgerFilePrivate(file: string): void {
  if (file === ":memory:" || file === "") return;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, "a", LEDGER_FILE_MODE));
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    const mode = statSync(path, { throwIfNoEntry: false })?.mode;
    if (mode !== undefined && (mode & 0o077) !== 0) chmodSync(path, LEDGER_FILE_MODE);
  }
}
