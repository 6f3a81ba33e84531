import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Compares two secrets in constant time. Both sides are hashed first so that neither the
 * comparison nor an early length check reveals how long the expected secret is.
 */
export function secretsEqual(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given, "utf8").digest();
  const b = createHash("sha256").update(expected, "utf8").digest();
  return timingSafeEqual(a, b);
}

/** A secret as it may appear in a log: the first 4 characters of a long one, never the whole. */
export function maskSecret(secret: string): string {
  if (secret.length < 12) return "<redacted>";
  return `${secret.slice(0, 4)}…<redacted>`;
}

/** Query parameters whose values are credentials and never logged in full. */
export const SECRET_PARAMS = ["token", "auth", "sign", "password", "pass", "secret", "key", "va_internal"] as const;

/** A query string with every credential value masked, safe to log. */
export function redactQuery(query: string): string {
  if (query === "") return "";
  const params = new URLSearchParams(query);
  const out: string[] = [];
  for (const [name, value] of params) {
    const secret = (SECRET_PARAMS as readonly string[]).includes(name.toLowerCase());
    out.push(`${name}=${secret ? maskSecret(value) : value}`);
  }
  return out.join("&");
}
