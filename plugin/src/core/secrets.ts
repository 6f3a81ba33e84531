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
