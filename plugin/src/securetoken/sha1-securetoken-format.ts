import { createHash } from "node:crypto";
import type { LinkSubject, SecureTokenFormat, SignedToken } from "./securetoken-format.js";

const MAX_UNIX_SEC = 1e11;

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
  const shape = new RegExp(`^([0-9a-fA-F]{40})-(${spec.salt.source})-(\\d{1,11})-(\\d{1,11})$`);
  return {
    name: spec.name,
    param: "token",
    hashesIp: true,
    saltBytes: spec.saltBytes,
    parse(value: string): SignedToken | null {
      const match = shape.exec(value);
      if (match === null) return null;
      const endSec = Number(match[3]);
      const startSec = Number(match[4]);
      if (endSec > MAX_UNIX_SEC || startSec > MAX_UNIX_SEC) return null;
      return { hash: match[1]!.toLowerCase(), salt: match[2]!, endSec, startSec };
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
