import { createHash } from "node:crypto";
import type { SecureTokenFormat, SignedToken } from "./securetoken-format.js";

const SHAPE = /^(\d{1,11})-([0-9a-fA-F]{32})$/;

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
  parse(value: string): SignedToken | null {
    const match = SHAPE.exec(value);
    if (match === null) return null;
    return { hash: match[2]!.toLowerCase(), endSec: Number(match[1]), startSec: undefined, salt: "" };
  },
  digest(token, subject, secret): string {
    return createHash("md5").update(`/${subject.app}/${subject.channel}-${token.endSec}-${secret}`, "utf8").digest("hex");
  },
  encode(token: SignedToken): string {
    return `${token.endSec}-${token.hash}`;
  },
};
