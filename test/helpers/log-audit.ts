/**
 * Every log line any test produced (in-process loggers and the server processes tests start), kept
 * for the suite-wide audit in log-audit-hooks.ts: no credential used anywhere in the suite may
 * appear in full in any of them.
 */
export const auditTrail: string[] = [];

/** Adds log text from outside the test process (a spawned server's stdout and stderr). */
export function recordExternalLog(text: string): void {
  auditTrail.push(text);
}
