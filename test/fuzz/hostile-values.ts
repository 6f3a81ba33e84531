import type { FuzzRandom } from "./fuzz-random.js";

/**
 * Hostile text the generators put into names, query values and headers: broken %-escapes, NUL and
 * control characters, traversal forms, header injection, non-UTF-8 bytes, prototype keys and sizes
 * past every limit. Each is a latin1 string (one char per byte), ready for a raw request line.
 */
export const HOSTILE_TEXT: readonly string[] = [
  "",
  "%",
  "%ZZ",
  "%00",
  "%E0%A4%A",
  "%C0%AE%C0%AE",
  "%252e%252e",
  "\u0000",
  "\u0007\u001b[31m",
  "a b",
  "%20",
  "..",
  "../..",
  "..%2f..%2f",
  "%2e%2e",
  "....//",
  "\\..\\..",
  "/",
  "//",
  "?",
  "#",
  "&&&",
  "==",
  ";",
  "\r\nX-Injected: 1",
  "%0d%0aX-Injected:%201",
  "\u00ff\u00fe",
  utf8AsLatin1("tést🙂"),
  "<script>alert(1)</script>",
  "' OR '1'='1",
  "${jndi:ldap://x}",
  "__proto__",
  "constructor",
  "prototype",
  "[]",
  "{}",
  "-1",
  "NaN",
  "1e309",
  "0x7fffffff",
  "A".repeat(300),
  "B".repeat(9000),
];

/** Query parameter names the plugin and NMS read, plus prototype-shaped ones. */
export const QUERY_KEYS: readonly string[] = [
  "token",
  "auth",
  "sign",
  "va_session",
  "va_internal",
  "name",
  "ip",
  "session",
  "__proto__",
  "constructor[prototype][x]",
  "token[]",
  "token[a]",
  "",
];

/** A latin1 string holding the UTF-8 bytes of `text` (so a raw request carries real UTF-8). */
export function utf8AsLatin1(text: string): string {
  return Buffer.from(text, "utf8").toString("latin1");
}

/** A hostile value, sometimes a plain word, sometimes two hostile pieces glued together. */
export function hostileText(random: FuzzRandom): string {
  const roll = random.next();
  if (roll < 0.15) return random.string(random.int(1, 12));
  if (roll < 0.3) return random.pick(HOSTILE_TEXT) + random.pick(HOSTILE_TEXT);
  if (roll < 0.35) return random.bytes(random.int(1, 24)).toString("latin1");
  return random.pick(HOSTILE_TEXT);
}

/** A hostile query string (without the `?`): several keys, repeated keys, broken escapes. */
export function hostileQuery(random: FuzzRandom): string {
  const parts: string[] = [];
  const count = random.chance(0.05) ? random.int(200, 2000) : random.int(1, 4);
  for (let i = 0; i < count; i++) {
    const key = random.chance(0.7) ? random.pick(QUERY_KEYS) : hostileText(random);
    parts.push(random.chance(0.1) ? key : `${key}=${hostileText(random)}`);
  }
  return parts.join(random.chance(0.9) ? "&" : ";");
}
