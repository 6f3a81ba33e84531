import { chmodSync, closeSync, mkdirSync, openSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type Database from "better-sqlite3";
import { ConfigError } from "../core/errors.js";
import { pluginRequire } from "../core/plugin-require.cjs";

/** Why an undelivered delivery was given up. */
export const WEBHOOK_DROP_REASONS = ["expired", "overflow", "write-failed", "unconfigured"] as const;
export type WebhookDropReason = (typeof WEBHOOK_DROP_REASONS)[number];

/** One delivery waiting in the outbox: an event for one webhook. */
export interface PendingDelivery {
  readonly seq: number;
  readonly eventId: string;
  readonly type: string;
  readonly createdAt: number;
  readonly body: string;
  readonly attempts: number;
}

/** The outbox file's mode: events carry viewers' addresses and user agents. */
const OUTBOX_FILE_MODE = 0o600;
/** Opening may wait for a lock; nothing is served yet. */
const OPEN_BUSY_TIMEOUT_MS = 5_000;
/** A write during serving waits this long at most for a lock (the file is ours alone; a lock means trouble). */
const BUSY_TIMEOUT_MS = 20;

/**
 * WebhookOutbox is the durable queue of deliveries: one row per event and webhook in an SQLite file
 * (WAL, synchronous=NORMAL: a committed row survives SIGKILL of the process). A row is written before
 * any attempt to send it and deleted only once its receiver answered 2xx, so every event is delivered
 * at least once. Rows of a webhook are read in insertion order (`seq`), which keeps each session's and
 * each publish's events in order. Bounded: beyond `maxEvents` rows the oldest are dropped.
 */
export class WebhookOutbox {
  readonly #file: string;
  readonly #maxEvents: number;
  readonly #sqlite: typeof Database;
  #open: OpenOutbox | undefined;
  /** Rows per webhook, kept in memory so a count never reads the file. */
  readonly #pending = new Map<string, number>();
  #total = 0;

  /** Keeps the settings and loads better-sqlite3 (a ConfigError at `events.webhooks` when it is missing). */
  constructor(file: string, maxEvents: number) {
    this.#file = file;
    this.#maxEvents = maxEvents;
    this.#sqlite = loadBetterSqlite();
  }

  /**
   * Opens (creates, 0600) the file and counts its rows. Rows of webhooks no longer configured are
   * deleted and returned as dropped (`unconfigured`).
   */
  open(webhooks: readonly string[]): number {
    makeFilePrivate(this.#file);
    const db = new this.#sqlite(this.#file, { timeout: OPEN_BUSY_TIMEOUT_MS });
    try {
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = NORMAL");
      db.exec(`CREATE TABLE IF NOT EXISTS deliveries (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        webhook TEXT NOT NULL,
        event_id TEXT NOT NULL,
        type TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        body TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX IF NOT EXISTS deliveries_by_webhook ON deliveries (webhook, seq);
      CREATE INDEX IF NOT EXISTS deliveries_by_age ON deliveries (created_at);`);
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    } catch (error) {
      db.close();
      throw error;
    }
    this.#open = {
      db,
      insert: db.prepare("INSERT INTO deliveries (webhook, event_id, type, created_at, body) VALUES (?, ?, ?, ?, ?)"),
      dropOldest: db.prepare("DELETE FROM deliveries WHERE seq = (SELECT MIN(seq) FROM deliveries) RETURNING webhook"),
      head: db.prepare("SELECT seq, event_id, type, created_at, body, attempts FROM deliveries WHERE webhook = ? ORDER BY seq LIMIT 1"),
      remove: db.prepare("DELETE FROM deliveries WHERE seq = ?"),
      attempted: db.prepare("UPDATE deliveries SET attempts = attempts + 1 WHERE seq = ?"),
      expire: db.prepare("DELETE FROM deliveries WHERE created_at < ? RETURNING webhook"),
      oldest: db.prepare("SELECT MIN(created_at) AS at FROM deliveries WHERE webhook = ?"),
    };
    const configured = new Set(webhooks);
    let unconfigured = 0;
    for (const row of db.prepare("SELECT webhook, COUNT(*) AS n FROM deliveries GROUP BY webhook").all() as {
      webhook: string;
      n: number;
    }[]) {
      if (configured.has(row.webhook)) this.#adjust(row.webhook, row.n);
      else unconfigured += db.prepare("DELETE FROM deliveries WHERE webhook = ?").run(row.webhook).changes;
    }
    return unconfigured;
  }

  /**
   * Writes `body` for each of `webhooks` in one transaction (committed when this returns), then drops
   * the oldest rows beyond `maxEvents`: returns how many were dropped. Throws when the file refuses the write.
   */
  add(webhooks: readonly string[], event: { id: string; type: string }, body: string, nowMs: number): number {
    const sql = this.#sql;
    let dropped = 0;
    sql.db.transaction(() => {
      for (const webhook of webhooks) sql.insert.run(webhook, event.id, event.type, nowMs, body);
      for (let over = this.#total + webhooks.length - this.#maxEvents; over > 0; over--) {
        const row = sql.dropOldest.get() as { webhook: string } | undefined;
        if (row === undefined) break;
        this.#adjust(row.webhook, -1);
        dropped++;
      }
    })();
    for (const webhook of webhooks) this.#adjust(webhook, 1);
    return dropped;
  }

  /** The oldest undelivered row of `webhook`. */
  head(webhook: string): PendingDelivery | undefined {
    const row = this.#sql.head.get(webhook) as
      { seq: number; event_id: string; type: string; created_at: number; body: string; attempts: number } | undefined;
    if (row === undefined) return undefined;
    return { seq: row.seq, eventId: row.event_id, type: row.type, createdAt: row.created_at, body: row.body, attempts: row.attempts };
  }

  /** The row was delivered. */
  delivered(webhook: string, seq: number): void {
    if (this.#sql.remove.run(seq).changes > 0) this.#adjust(webhook, -1);
  }

  /** One more failed attempt of the row. */
  failed(seq: number): void {
    this.#sql.attempted.run(seq);
  }

  /** Deletes every row created before `beforeMs`; returns how many. */
  expire(beforeMs: number): number {
    const rows = this.#sql.expire.all(beforeMs) as { webhook: string }[];
    for (const row of rows) this.#adjust(row.webhook, -1);
    return rows.length;
  }

  /** Undelivered rows of `webhook`. */
  pending(webhook: string): number {
    return this.#pending.get(webhook) ?? 0;
  }

  /** Undelivered rows of every webhook. */
  total(): number {
    return this.#total;
  }

  /** When the oldest undelivered event of `webhook` was created (ms), or undefined. */
  oldestAt(webhook: string): number | undefined {
    if (this.pending(webhook) === 0) return undefined;
    return (this.#sql.oldest.get(webhook) as { at: number | null }).at ?? undefined;
  }

  get isOpen(): boolean {
    return this.#open !== undefined;
  }

  close(): void {
    this.#open?.db.close();
    this.#open = undefined;
  }

  get #sql(): OpenOutbox {
    if (this.#open === undefined) throw new Error("the webhook outbox is not open");
    return this.#open;
  }

  #adjust(webhook: string, by: number): void {
    this.#pending.set(webhook, Math.max(0, (this.#pending.get(webhook) ?? 0) + by));
    this.#total = Math.max(0, this.#total + by);
  }
}

interface OpenOutbox {
  readonly db: Database.Database;
  readonly insert: Database.Statement;
  readonly dropOldest: Database.Statement;
  readonly head: Database.Statement;
  readonly remove: Database.Statement;
  readonly attempted: Database.Statement;
  readonly expire: Database.Statement;
  readonly oldest: Database.Statement;
}

function loadBetterSqlite(): typeof Database {
  try {
    return pluginRequire("better-sqlite3") as typeof Database;
  } catch (error) {
    if ((error as { code?: unknown }).code !== "MODULE_NOT_FOUND") throw error;
    throw new ConfigError([
      {
        path: "events.webhooks",
        message: "needs the better-sqlite3 package for the webhook outbox: npm install better-sqlite3@12",
      },
    ]);
  }
}

/** The file and its WAL companions are their owner's only. */
function makeFilePrivate(file: string): void {
  if (file === ":memory:" || file === "") return;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, "a", OUTBOX_FILE_MODE));
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    const mode = statSync(path, { throwIfNoEntry: false })?.mode;
    if (mode !== undefined && (mode & 0o077) !== 0) chmodSync(path, OUTBOX_FILE_MODE);
  }
}
