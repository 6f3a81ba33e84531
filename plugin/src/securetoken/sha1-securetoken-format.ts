import { createHash } from "node:crypto";
import { MAX_SIGNED_LINK_CHARS, type LinkSubject, type SecureTokenFormat, type SignedToken } from "./securetoken-format.js";

/** A time as `encode` writes it: decimal, no sign, no leading zero, at most 11 digits. */
const CANONICAL_SEC = "(0|[1-9]\\d{0,10})";
/**
 * Anything that looks like a SHA-1 securetoken: four dash-separated fields, the last two digit runs
 * (perhaps signed, padded or spaced), the first or second 40 hex characters (hash and salt swapped too).
 */
const LOOSE = /^\s*([^\s-]+)\s*-\s*([^\s-]+)\s*-\s*[+-]?\s*\d+\s*-\s*[+-]?\s*\d+\s*$/;
const HEX40 = /^[0-9a-fA-F]{40}$/;

/**
 * The SHA-1 securetoken shared by Cesbo Astra/Alta and Flussonic (docs/protocols.md §4.1, §4.2):
 * `token=<sha1_hex(subject + ip + start + end + secret + salt)>-<salt>-<end>-<start>`, numbers in
 * decimal, plain concatenation. The two differ only in the subject (Astra: the request path;
 * Flussonic: the stream name) and the salt (Astra: 8 hex characters; Flussonic: any short string).
 */
export function createSha1SecureTokenFormat(spec: {
  name: "astra" | "flussonic";
  subjectOf: (subject: LinkSubject) => string;
  salt: RegExp;
  saltBytes: number;
}): SecureTokenFormat {
  const canonical = new RegExp(`^([0-9a-f]{40})-(${spec.salt.source})-${CANONICAL_SEC}-${CANONICAL_SEC}$`);
  return {
    name: spec.name,
    param: "token",
    hashesIp: true,
    saltBytes: spec.saltBytes,
    identify(value: string): string | null {
      if (value.length > MAX_SIGNED_LINK_CHARS) return null;
      const match = LOOSE.exec(value);
      if (match === null) return null;
      const hash = [match[1]!, match[2]!].find((field) => HEX40.test(field));
      return hash === undefined ? null : hash.toLowerCase();
    },
    parse(value: string): SignedToken | null {
      const match = canonical.exec(value);
      if (match === null) return null;
      return { hash: match[1]!, salt: match[2]!, endSec: Number(match[3]), startSec: Number(match[4]) };
    },
    digest(token, subject, secret): string {
      const text = `${spec.subjectOf(subject)}${subject.ip}${token.startSec ?? 0}${token.endSec}${secret}${token.salt}`;
      return createHash("sha1").update(text, "utf8").digest("hex");
    },
    encode(token: SignedToken): string {
      return `${token.hash}-${token.salt}-${token.endSec}-${token.startSec ?? 0}`;
    },
  };
}
