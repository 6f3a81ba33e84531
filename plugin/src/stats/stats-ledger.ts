import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { Clock } from "../clock.js";
import type { Logger } from "../log.js";
import type { SessionRegistry } from "../sessions/session-registry.js";
import { snapshotOf, type SessionSnapshot, type ViewerSession } from "../sessions/viewer-session.js";

/** Aggregated viewing over a time range, per channel or per user. */
export interface UsageRow {
  key: string;
  sessions: number;
  watchSeconds: number;
  bytesOut: number;
}

const COLUMNS = "id, name, user_id, app, channel, ip, protocol, user_agent, started_at, playing_since, last_activity_at, bytes_out";

/**
 * StatsLedger appends every closed session to an SQLite file. Writes are batched and flushed every
 * `flushIntervalMs` in one transaction; playing sessions are mirrored in `live_sessions` with a
 * heartbeat, so after a crash the next start records them as "server-stopped" at their last
 * heartbeat: a SIGKILL loses at most one flush interval of accounting.
 */
export class StatsLedger {
  readonly #db: Database.Database;
  readonly #registry: SessionRegistry;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #ended: SessionSnapshot[] = [];
  readonly #timer: NodeJS.Timeout;
  readonly #onEnded = (s: ViewerSession) => this.#ended.push(snapshotOf(s));
  readonly #insertEnded: Database.Statement;
  readonly #deleteLive: Database.Statement;
  readonly #upsertLive: Database.Statement;
  #closed = false;

  constructor(file: string, flushIntervalMs: number, registry: SessionRegistry, clock: Clock, log: Logger) {
    mkdirSync(dirname(file), { recursive: true });
    this.#db = new Database(file);
    this.#db.pragma("journal_mode = WAL");
    this.#db.pragma("synchronous = NORMAL");
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS sessions (
        id TEXT PRIMARY KEY, name TEXT, user_id TEXT, app TEXT NOT NULL, channel TEXT NOT NULL, ip TEXT NOT NULL,
        protocol TEXT NOT NULL, user_agent TEXT, started_at INTEGER NOT NULL, playing_since INTEGER, last_activity_at INTEGER NOT NULL,
        bytes_out INTEGER NOT NULL, ended_at INTEGER NOT NULL, end_reason TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS sessions_started ON sessions (started_at);
      CREATE TABLE IF NOT EXISTS live_sessions (
        id TEXT PRIMARY KEY, name TEXT, user_id TEXT, app TEXT NOT NULL, channel TEXT NOT NULL, ip TEXT NOT NULL,
        protocol TEXT NOT NULL, user_agent TEXT, started_at INTEGER NOT NULL, playing_since INTEGER, last_activity_at INTEGER NOT NULL,
        bytes_out INTEGER NOT NULL);`);
    this.#insertEnded = this.#db.prepare(`INSERT OR REPLACE INTO sessions (${COLUMNS}, ended_at, end_reason)
      VALUES (@id, @name, @userId, @app, @channel, @ip, @protocol, @userAgent, @startedAt, @playingSince, @lastActivityAt, @bytesOut, @endedAt, @endReason)`);
    this.#deleteLive = this.#db.prepare("DELETE FROM live_sessions WHERE id = ?");
    this.#upsertLive = this.#db.prepare(`INSERT OR REPLACE INTO live_sessions (${COLUMNS})
      VALUES (@id, @name, @userId, @app, @channel, @ip, @protocol, @userAgent, @startedAt, @playingSince, @lastActivityAt, @bytesOut)`);
    this.#registry = registry;
    this.#clock = clock;
    this.#log = log;
    this.#recoverCrashed();
    registry.on("ended", this.#onEnded);
    this.#timer = setInterval(() => this.flush(), flushIntervalMs);
    this.#timer.unref();
  }

  /** Writes ended sessions and the live heartbeat in one transaction. */
  flush(): void {
    if (this.#closed) return;
    const ended = this.#ended.splice(0);
    const now = this.#clock.now();
    const live = this.#registry.list().filter((s) => s.state === "playing").map((s) => snapshotOf(s, now));
    this.#db.transaction(() => {
      for (const s of ended) {
        this.#insertEnded.run(row(s, { endedAt: s.endedAt ?? now, endReason: s.endReason ?? "viewer-left" }));
        this.#deleteLive.run(s.id);
      }
      for (const s of live) this.#upsertLive.run(row(s));
    })();
  }

  /** Sessions, watch time and bytes per channel (`app/channel`) or per user, started in [from, to). */
  usage(by: "channel" | "user", fromMs: number, toMs: number): UsageRow[] {
    this.flush();
    const key = by === "channel" ? "app || '/' || channel" : "COALESCE(user_id, name, '(anonymous)')";
    return this.#db.prepare(`SELECT ${key} AS key, COUNT(*) AS sessions,
        CAST(ROUND(SUM(ended_at - playing_since) / 1000.0) AS INTEGER) AS watchSeconds, SUM(bytes_out) AS bytesOut
      FROM sessions WHERE playing_since IS NOT NULL AND started_at >= ? AND started_at < ? GROUP BY key ORDER BY key`).all(fromMs, toMs) as UsageRow[];
  }

  /** Every closed session started in [from, to), oldest first, as CSV with a header line. */
  exportCsv(fromMs: number, toMs: number): string {
    this.flush();
    const rows = this.#db.prepare(`SELECT ${COLUMNS}, ended_at, end_reason FROM sessions
      WHERE started_at >= ? AND started_at < ? ORDER BY started_at`).all(fromMs, toMs) as Record<string, unknown>[];
    const header = [...COLUMNS.split(", "), "ended_at", "end_reason"];
    const lines = rows.map((r) => header.map((h) => csvField(isTime(h) && r[h] !== null ? new Date(Number(r[h])).toISOString() : r[h])).join(","));
    return [header.join(","), ...lines].join("\r\n") + "\r\n";
  }

  /** Final flush, then closes the file. */
  close(): void {
    if (this.#closed) return;
    clearInterval(this.#timer);
    this.#registry.off("ended", this.#onEnded);
    this.flush();
    this.#closed = true;
    this.#db.close();
  }

  /** Sessions that were live when the process died are closed at their last activity: the last heartbeat for RTMP/FLV, the last request for HLS. */
  #recoverCrashed(): void {
    const moved = this.#db.transaction(() => {
      const result = this.#db.prepare(`INSERT OR REPLACE INTO sessions (${COLUMNS}, ended_at, end_reason)
        SELECT ${COLUMNS}, last_activity_at, 'server-stopped' FROM live_sessions`).run();
      this.#db.prepare("DELETE FROM live_sessions").run();
      return result.changes;
    })();
    if (moved > 0) this.#log.warn({ event: "stats.recovered", sessions: moved }, "sessions live at the last stop recorded as server-stopped");
  }
}

function row(s: SessionSnapshot, extra: Record<string, unknown> = {}) {
  return {
    id: s.id, name: s.name ?? null, userId: s.userId ?? null, app: s.app, channel: s.channel, ip: s.ip, protocol: s.protocol,
    userAgent: s.userAgent, startedAt: s.startedAt, playingSince: s.playingSince ?? null, lastActivityAt: s.lastActivityAt, bytesOut: s.bytesOut, ...extra,
  };
}

function csvField(value: unknown): string {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function isTime(column: string): boolean {
  return column.endsWith("_at") || column === "playing_since";
}
