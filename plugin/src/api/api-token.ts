import { randomBytes } from "node:crypto";

/**
 * Bits of randomness an API credential must carry. The management API's throttle still answers the
 * right credential to a banned client (so no local process can lock the operator out), so a client may
 * guess at line rate: 23,600 guesses a second measured, 2^39.4 a year. 128 bits leave a year of that a
 * chance of 2^-88.6 (docs/api-credentials.md "How strong a token must be").
 */
export const MIN_TOKEN_BITS = 128;

/** The fewest characters a token may have (128 bits at 4 bits a character: 32 hex digits, before any discount). */
export const MIN_TOKEN_CHARS = 32;

/** Bytes of a generated token: 256 bits, 43 base64url characters. */
const GENERATED_TOKEN_BYTES = 32;

/** How to make a token that passes, for every message that refuses one. */
export const MAKE_TOKEN_HINT = "make one with `npm run -s make-token`, `nms-viewer-auth make-token` or `openssl rand -base64 32`";

/** A new API token: 256 random bits as base64url (43 characters). */
export function generateApiToken(): string {
  return randomBytes(GENERATED_TOKEN_BYTES).toString("base64url");
}

/** The characters a token may hold: base64url, base64 and hex (trailing `=` padding aside). */
const TOKEN_TEXT = /^[A-Za-z0-9_+/-]+$/;

/**
 * An estimate of the random bits in `token`, deliberately plain (docs/api-credentials.md describes it):
 * - trailing `=` padding (up to two) is ignored; any character outside base64url/base64/hex gives 0;
 * - the alphabet is 16 when every character is a hex digit of one case, else the sum of the classes
 *   used: digits 10, lower case 26, upper case 26, the punctuation of base64url/base64 (`-_+/`) 2;
 * - each character is worth log2(alphabet), except a predictable one, worth nothing: the same as the
 *   character before, one code point above or below it (`aaaa`, `1234`, `fedc`), or the continuation of
 *   an earlier repeat (the three characters before it followed by it already occur earlier).
 * A random token loses a few characters to chance (3 in 64 per base64 character), which is why the
 * minimum is met by 32 random bytes in any encoding but not by 16 bytes written as 32 hex digits.
 */
export function estimateTokenBits(token: string): number {
  const text = token.replace(/={1,2}$/, "");
  if (!TOKEN_TEXT.test(text)) return 0;
  const bitsPerChar = Math.log2(alphabetSize(text));
  let unpredictable = 0;
  for (let i = 0; i < text.length; i++) {
    if (!predictable(text, i)) unpredictable++;
  }
  return unpredictable * bitsPerChar;
}

/** Why `token` is too weak to be an API credential, or undefined when it is strong enough. */
export function tokenWeakness(token: string): string | undefined {
  const text = token.replace(/={1,2}$/, "");
  if (text.length < MIN_TOKEN_CHARS)
    return `has fewer than ${MIN_TOKEN_CHARS} characters: an API token needs at least ${MIN_TOKEN_CHARS} random characters (${MIN_TOKEN_BITS} bits); ${MAKE_TOKEN_HINT}`;
  if (!TOKEN_TEXT.test(text))
    return `must be a random token of base64url, base64 or hex characters (at least ${MIN_TOKEN_BITS} bits); ${MAKE_TOKEN_HINT}`;
  const bits = estimateTokenBits(token);
  if (bits < MIN_TOKEN_BITS)
    return `has too little randomness (about ${Math.floor(bits)} of the ${MIN_TOKEN_BITS} bits needed: runs, sequences or repeats count for nothing); ${MAKE_TOKEN_HINT}`;
  return undefined;
}

function alphabetSize(text: string): number {
  if (/^[0-9a-f]+$/.test(text) || /^[0-9A-F]+$/.test(text)) return 16;
  let size = 0;
  if (/[0-9]/.test(text)) size += 10;
  if (/[a-z]/.test(text)) size += 26;
  if (/[A-Z]/.test(text)) size += 26;
  if (/[-_+/]/.test(text)) size += 2;
  return size;
}

/** Characters before a position that, with it, make a repeat when they already occur earlier. */
const REPEAT_CONTEXT = 3;

function predictable(text: string, i: number): boolean {
  if (i === 0) return false;
  const step = text.charCodeAt(i) - text.charCodeAt(i - 1);
  if (step >= -1 && step <= 1) return true;
  if (i < REPEAT_CONTEXT) return false;
  const piece = text.slice(i - REPEAT_CONTEXT, i + 1);
  return text.indexOf(piece) < i - REPEAT_CONTEXT;
}
