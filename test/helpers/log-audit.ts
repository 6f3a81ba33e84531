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

/**
 * Secrets a test configured that the source scan of log-audit-hooks.ts cannot see (built from
 * constants, random per run, embedded in URLs): the audit checks them too.
 */
export const auditedSecrets = new Set<string>();

/** Adds secrets for the suite-wide audit: none may appear in full in any log line of the run. */
export function auditSecrets(...secrets: string[]): void {
  for (const secret of secrets) auditedSecrets.add(secret);
}
