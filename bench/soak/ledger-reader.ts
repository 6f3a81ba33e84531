import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { REPO } from "./server-process.js";

/** One closed session as the statistics ledger stored it. */
export interface LedgerRow {
  id: string;
  protocol: string;
  started_at: number;
  last_activity_at: number;
  bytes_out: number;
  ended_at: number;
  end_reason: string;
}

/** The closed sessions in a ledger file (read-only; the server that wrote it has stopped). */
export function ledgerRows(file: string): LedgerRow[] {
  if (!existsSync(file)) return [];
  const db = new Database(file, { readonly: true });
  try {
    return db
      .prepare("SELECT id, protocol, started_at, last_activity_at, bytes_out, ended_at, end_reason FROM sessions")
      .all() as LedgerRow[];
  } finally {
    db.close();
  }
}

/**
 * The end reason a clean stop (SIGTERM) writes: `shutdown` once the session model has it,
 * else the older `server-stopped`. Read from the source so the check tightens by itself when it lands.
 */
export function shutdownReason(): "shutdown" | "server-stopped" {
  const source = readFileSync(join(REPO, "plugin/src/core/viewer-session.ts"), "utf8");
  const reasons = /END_REASONS\s*=\s*\[([^\]]*)\]/s.exec(source)?.[1] ?? "";
  return reasons.includes('"shutdown"') ? "shutdown" : "server-stopped";
}

/** Counts of a list of strings. */
export function tally(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
