import type Database from "better-sqlite3";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/log.js";
import { guarded } from "../core/guarded.js";
import type { StatsLedger } from "./stats-ledger.js";

/** What the audit records: the operator actions of the management API and its console. */
export const AUDIT_ACTIONS = [
  "sign-in",
  "sign-in-failed",
  "session.close",
  "user.sessions.close",
  "revoke",
  "revocation.lift",
  "user.create",
  "user.edit",
  "user.delete",
  "webhook.test",
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** The actor of a failed sign-in: its credential matched none, so there is no name to give. */
export const UNKNOWN_ACTOR = "unknown";

/** One operator action: who (a credential's name, never its value), what, on what, when and from where. */
export interface AuditEntry {
  /** ms since the epoch. */
  readonly at: number;
  readonly actor: string;
  /** The credential's role; null for a failed sign-in. */
  readonly role: string | null;
  readonly action: AuditAction;
  /** A session id, a user's login, a revocation as `kind:key` (a token by its digest), a webhook; null when none. */
  readonly target: string | null;
  /** The client's address, behind the trusted proxies. */
  readonly address: string;
}

export interface AuditFilter {
  /** ms since the epoch, inclusive. */
  readonly since: number;
  /** ms since the epoch, exclusive. */
  readonly until: number;
  readonly actor?: string | undefined;
  readonly action?: string | undefined;
  readonly limit: number;
}

/** Entries kept in memory without `stats.file`; past this the oldest go first. */
export const AUDIT_MEMORY_ENTRIES = 10_000;
/** How often old entries are purged. */
const PURGE_INTERVAL_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Text caps, like the ledger's: a 64 KiB login cannot bloat a row. */
const LIMITS = { actor: 64, role: 16, target: 256, address: 64 } as const;

/**
 * AuditTrail keeps the operator actions: in the statistics database (the `audit` table, so they
 * survive a restart) when `stats.file` is set, else in a ring of the newest AUDIT_MEMORY_ENTRIES. An
 * entry is kept `retentionDays` and purged at start and hourly. A database that refuses a write never
 * fails the action: the entry goes to the ring instead and `audit.write_failed` is logged.
 */
export class AuditTrail {
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #ledger: StatsLedger | undefined;
  readonly #retentionDays: number;
  readonly #ring: AuditEntry[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(clock: Clock, log: Logger, options: { retentionDays: number; ledger?: StatsLedger | undefined }) {
    this.#clock = clock;
    this.#log = log;
    this.#ledger = options.ledger;
    this.#retentionDays = options.retentionDays;
  }

  /** Where the entries are kept: `database` with `stats.file`, else `memory`. */
  get storage(): "database" | "memory" {
    return this.#ledger === undefined ? "memory" : "database";
  }

  /** Purges now, then hourly (after the ledger opened its file). */
  start(): void {
    if (this.#timer !== undefined) return;
    this.purge();
    this.#timer = setInterval(
      guarded(this.#log, "audit.purge_failed", () => this.purge()),
      PURGE_INTERVAL_MS,
    );
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Records an action now. Never throws. */
  record(entry: Omit<AuditEntry, "at">): void {
    const row: AuditEntry = {
      at: this.#clock.now(),
      actor: cap(entry.actor, LIMITS.actor),
      role: entry.role === null ? null : cap(entry.role, LIMITS.role),
      action: entry.action,
      target: entry.target === null ? null : cap(entry.target, LIMITS.target),
      address: cap(entry.address, LIMITS.address),
    };
    this.#log.info(
      { event: "audit.recorded", actor: row.actor, action: row.action, target: row.target, ip: row.address },
      "operator action",
    );
    const db = this.#ledger?.database as Database.Database | undefined;
    if (db !== undefined) {
      try {
        db.prepare(
          "INSERT INTO audit (at, actor, role, action, target, address) VALUES (@at, @actor, @role, @action, @target, @address)",
        ).run(row);
        return;
      } catch (error) {
        this.#log.error({ event: "audit.write_failed", err: error }, "the audit entry could not be written; kept in memory");
      }
    }
    this.#ring.push(row);
    if (this.#ring.length > AUDIT_MEMORY_ENTRIES) this.#ring.shift();
  }

  /** Entries in [since, until), newest first, at most `limit`. */
  list(filter: AuditFilter): AuditEntry[] {
    const matches = (e: AuditEntry) =>
      e.at >= filter.since &&
      e.at < filter.until &&
      (filter.actor === undefined || e.actor === filter.actor) &&
      (filter.action === undefined || e.action === filter.action);
    const fromRing = this.#ring.filter(matches);
    const db = this.#ledger?.database as Database.Database | undefined;
    const fromDb = db === undefined ? [] : query(db, filter);
    // The ring holds only what the database refused (or everything without one): merged by time.
    return [...fromDb, ...fromRing].sort((a, b) => b.at - a.at).slice(0, filter.limit);
  }

  /** Removes entries older than the retention. */
  purge(): void {
    const cutoff = this.#clock.now() - this.#retentionDays * DAY_MS;
    while (this.#ring.length > 0 && this.#ring[0]!.at < cutoff) this.#ring.shift();
    const db = this.#ledger?.database as Database.Database | undefined;
    if (db === undefined) return;
    try {
      const purged = db.prepare("DELETE FROM audit WHERE at < ?").run(cutoff).changes;
      if (purged > 0) this.#log.info({ event: "audit.purged", rows: purged }, "old audit entries purged");
    } catch (error) {
      this.#log.error({ event: "audit.write_failed", err: error }, "old audit entries could not be purged");
    }
  }
}

function query(db: Database.Database, filter: AuditFilter): AuditEntry[] {
  return db
    .prepare(
      `SELECT at, actor, role, action, target, address FROM audit
       WHERE at >= @since AND at < @until AND (@actor IS NULL OR actor = @actor) AND (@action IS NULL OR action = @action)
       ORDER BY at DESC, id DESC LIMIT @limit`,
    )
    .all({
      since: filter.since,
      until: filter.until,
      actor: filter.actor ?? null,
      action: filter.action ?? null,
      limit: filter.limit,
    }) as AuditEntry[];
}

function cap(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) : text;
}
