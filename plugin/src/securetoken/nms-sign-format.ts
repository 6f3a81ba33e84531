import { createHash } from "node:crypto";
import { MAX_SIGNED_LINK_CHARS, type SecureTokenFormat, type SignedToken } from "./securetoken-format.js";

/** The one spelling `encode` writes: `<exp>-<md5>`, exp in decimal without leading zeros, hex in lower case. */
const CANONICAL = /^(0|[1-9]\d{0,10})-([0-9a-f]{32})$/;
/** Anything that looks like a sign: digits and 32 hex characters joined by a dash, in either order, with signs or spaces. */
const LOOSE = /^\s*[+-]?\s*\d+\s*-\s*([0-9a-fA-F]{32})\s*$|^\s*([0-9a-fA-F]{32})\s*-\s*[+-]?\s*\d+\s*$/;

/**
 * node-media-server's own `sign` (docs/protocols.md §4.3):
 * `sign=<exp>-<md5_hex("/" + app + "/" + stream + "-" + exp + "-" + secret)>`, valid until `exp`
 * (Unix seconds). It carries no IP and no salt, so `bindIp` does not apply to it.
 */
export const nmsSignFormat: SecureTokenFormat = {
  name: "nms",
  param: "sign",
  hashesIp: false,
  saltBytes: 0,
  identify(value: string): string | null {
    if (value.length > MAX_SIGNED_LINK_CHARS) return null;
    const match = LOOSE.exec(value);
    return match === null ? null : (match[1] ?? match[2]!).toLowerCase();
  },
  parse(value: string): SignedToken | null {
    const match = CANONICAL.exec(value);
    if (match === null) return null;
    return { hash: match[2]!, endSec: Number(match[1]), startSec: undefined, salt: "" };
  },
  digest(token, subject, secret): string {
    return createHash("md5").update(`/${subject.app}/${subject.channel}-${token.endSec}-${secret}`, "utf8").digest("hex");
  },
  encode(token: SignedToken): string {
    return `${token.endSec}-${token.hash}`;
  },
};
