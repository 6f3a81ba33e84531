/** One satisfiable byte range of a file, both ends inclusive (as `Content-Range` writes them). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Reads a `Range` header against a file of `size` bytes (RFC 9110 §14.2): a single byte range → that
 * range, clipped to the file; one the file cannot satisfy → "unsatisfiable" (416); a missing,
 * malformed, non-byte or multi-range header → null, and the whole file is served (a server may ignore
 * Range, and multipart answers buy players nothing).
 *
 * The header is read by a scanner that looks at each character once: a regex with optional blanks on
 * both sides of an optional number backtracks quadratically on a long run of blanks, and any client
 * with a session key could send one per request.
 */
export function parseByteRange(header: string | undefined, size: number): ByteRange | "unsatisfiable" | null {
  if (header === undefined) return null;
  const spec = scanSingleRange(header);
  if (spec === null) return null;
  const { first, last } = spec;
  if (first === "" && last === "") return null;
  if (first === "") {
    // A suffix range: the last N bytes.
    const length = Number(last);
    if (length === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? Number.MAX_SAFE_INTEGER : Number(last);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return null;
  if (start >= size) return "unsatisfiable";
  return { start, end: Math.min(end, size - 1) };
}

/** The two digit runs of `bytes = first - last` (blanks optional around each part, "bytes" in any case), or null. */
function scanSingleRange(text: string): { first: string; last: string } | null {
  if (!isBytesUnit(text)) return null;
  let at = skipBlanks(text, 5);
  if (text.charCodeAt(at) !== EQUALS) return null;
  at = skipBlanks(text, at + 1);
  const firstFrom = at;
  at = skipDigits(text, at);
  const first = text.slice(firstFrom, at);
  at = skipBlanks(text, at);
  if (text.charCodeAt(at) !== HYPHEN) return null;
  at = skipBlanks(text, at + 1);
  const lastFrom = at;
  at = skipDigits(text, at);
  const last = text.slice(lastFrom, at);
  at = skipBlanks(text, at);
  return at === text.length ? { first, last } : null;
}

const EQUALS = 0x3d;
const HYPHEN = 0x2d;
const SPACE = 0x20;
const TAB = 0x09;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const BYTES = "bytes";

/** `bytes` in any ASCII case at the start (RFC 9110 range units are case-insensitive). */
function isBytesUnit(text: string): boolean {
  if (text.length < BYTES.length) return false;
  for (let i = 0; i < BYTES.length; i++) {
    // Setting bit 0x20 lowercases an ASCII letter and leaves no other character equal to one.
    if ((text.charCodeAt(i) | 0x20) !== BYTES.charCodeAt(i)) return false;
  }
  return true;
}

function skipBlanks(text: string, from: number): number {
  let at = from;
  while (at < text.length) {
    const code = text.charCodeAt(at);
    if (code !== SPACE && code !== TAB) break;
    at++;
  }
  return at;
}

function skipDigits(text: string, from: number): number {
  let at = from;
  while (at < text.length) {
    const code = text.charCodeAt(at);
    if (code < DIGIT_0 || code > DIGIT_9) break;
    at++;
  }
  return at;
}
