// Statistics ledger write throughput: 20,000 playing sessions end (registry.end) and the ledger
// flushes them, timed end to end, against the same rows written by plain prepared INSERTs in one
// better-sqlite3 transaction into a table with the same columns and settings (the baseline, same run).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";
import type { ViewerSession } from "../plugin/src/index.js";
import { PROTOCOLS, systemClock, createLogger, MemorySessionStore, StatsLedger } from "../plugin/src/server-kit.js";
import { report, round } from "./bench-stats.js";

const SESSIONS = 20_000;
const ROUNDS = 5;
// Longer than any round: only the explicit flush writes, so the timing holds exactly one flush.
const FLUSH_INTERVAL_MS = 3_600_000;

const root = mkdtempSync(join(tmpdir(), "va-bench-ledger-"));
const log = createLogger("silent");

function openSessions(registry: MemorySessionStore): ViewerSession[] {
  const sessions: ViewerSession[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    const bytes = 5_000_000 + i;
    const session = registry.open({
      protocol: PROTOCOLS[i % PROTOCOLS.length]!,
      app: "live",
      channel: `ch${i % 100}`,
      ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      userAgent: "bench-player/1.0",
      transport: { bytesOut: () => bytes, close() {} },
    });
    registry.admit(session, { identity: { name: `viewer-${i}`, userId: `u${i % 2500}` }, request: undefined });
    sessions.push(session);
  }
  return sessions;
}

/** Seconds for: every session ends through the registry, then one ledger flush (and the flush alone). */
function ledgerRun(file: string): { seconds: number; flushSeconds: number } {
  const registry = new MemorySessionStore(systemClock, log);
  const ledger = StatsLedger.open(file, FLUSH_INTERVAL_MS, registry, systemClock, log);
  const sessions = openSessions(registry);
  ledger.flush(); // the live heartbeat of the open sessions, as production has written it by now
  const started = performance.now();
  for (const session of sessions) registry.end(session, "viewer-left");
  const flushStarted = performance.now();
  ledger.flush();
  const ended = performance.now();
  ledger.close();
  return { seconds: (ended - started) / 1000, flushSeconds: (ended - flushStarted) / 1000 };
}

/** The same columns and values as the ledger's `sessions` rows, built before the clock starts. */
function plainRows() {
  const now = Date.now();
  return Array.from({ length: SESSIONS }, (_, i) => ({
    id: `plain-${i}-${now}`,
    name: `viewer-${i}`,
    userId: `u${i % 2500}`,
    app: "live",
    channel: `ch${i % 100}`,
    ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    protocol: PROTOCOLS[i % PROTOCOLS.length]!,
    userAgent: "bench-player/1.0",
    startedAt: now,
    playingSince: now,
    lastActivityAt: now,
    bytesOut: 5_000_000 + i,
    endedAt: now + 1000,
    endReason: "viewer-left",
  }));
}

/** Seconds for: the same number of rows through one prepared INSERT in one transaction. */
function plainRun(file: string): number {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.exec(`CREATE TABLE sessions (
      id TEXT PRIMARY KEY, name TEXT, user_id TEXT, app TEXT NOT NULL, channel TEXT NOT NULL, ip TEXT NOT NULL,
      protocol TEXT NOT NULL, user_agent TEXT, started_at INTEGER NOT NULL, playing_since INTEGER, last_activity_at INTEGER NOT NULL,
      bytes_out INTEGER NOT NULL, ended_at INTEGER NOT NULL, end_reason TEXT NOT NULL);
    CREATE INDEX sessions_started ON sessions (started_at);`);
  const insert = db.prepare(`INSERT INTO sessions (id, name, user_id, app, channel, ip, protocol, user_agent, started_at,
      playing_since, last_activity_at, bytes_out, ended_at, end_reason)
    VALUES (@id, @name, @userId, @app, @channel, @ip, @protocol, @userAgent, @startedAt, @playingSince, @lastActivityAt, @bytesOut, @endedAt, @endReason)`);
  const rows = plainRows();
  const started = performance.now();
  db.transaction(() => {
    for (const row of rows) insert.run(row);
  })();
  const seconds = (performance.now() - started) / 1000;
  db.close();
  return seconds;
}

// Rounds alternate ledger and baseline on fresh files; the median of each is kept.
const ledgerSeconds: number[] = [];
const flushSeconds: number[] = [];
const plainSeconds: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  plainSeconds.push(plainRun(join(root, `plain-${r}.sqlite`)));
  const run = ledgerRun(join(root, `ledger-${r}.sqlite`));
  ledgerSeconds.push(run.seconds);
  flushSeconds.push(run.flushSeconds);
  (globalThis as { gc?: () => void }).gc?.();
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const plain = SESSIONS / median(plainSeconds);
const ledger = SESSIONS / median(ledgerSeconds);
report(`plain INSERTs, ${SESSIONS.toLocaleString("en")} rows (baseline)`, {
  sessionsPerSec: Math.round(plain),
  ms: round(median(plainSeconds) * 1000, 1),
});
report(`ledger: end + flush, ${SESSIONS.toLocaleString("en")} sessions`, {
  sessionsPerSec: Math.round(ledger),
  ms: round(median(ledgerSeconds) * 1000, 1),
  flushMs: round(median(flushSeconds) * 1000, 1),
  ratioVsPlain: round(ledger / plain, 3),
});
rmSync(root, { recursive: true, force: true });
