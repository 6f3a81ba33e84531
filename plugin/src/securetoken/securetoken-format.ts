import type { SecureTokenFormatName } from "./securetoken-schema.js";

/** What a signed link is bound to: the request path, the app and channel, and the viewer's IP ("" when unbound). */
export interface LinkSubject {
  readonly path: string;
  readonly app: string;
  readonly channel: string;
  readonly ip: string;
}

/** A signed token's fields, as parsed from a link or about to be written into one. Times are Unix seconds. */
export interface SignedToken {
  readonly hash: string;
  /** Not valid before; formats without one (nms) leave it undefined. */
  readonly startSec: number | undefined;
  /** Not valid after. */
  readonly endSec: number;
  /** Random salt hashed into the token; "" for formats without one. */
  readonly salt: string;
}

/**
 * SecureTokenFormat is one signed-link format (docs/protocols.md §4): which query parameter carries it,
 * how to recognize its shape, how to compute its hash and how to write it.
 */
export interface SecureTokenFormat {
  readonly name: SecureTokenFormatName;
  /** The query parameter the token travels in. */
  readonly param: "token" | "sign";
  /** Whether the viewer's IP is part of the hash. */
  readonly hashesIp: boolean;
  /** Length of a fresh salt in bytes (0 = no salt). */
  readonly saltBytes: number;
  /**
   * The token's hash, lower-case, when the value looks like this format however it is spelled (upper-case
   * hex, leading zeros, signs, spaces, swapped fields), or null when it does not look like it at all (the
   * step then passes: it may be a middleware token). A value this recognises but `parse` refuses is a
   * forged link, never another credential. The hash is the link's identity (revocation keys it). A value
   * longer than `MAX_SIGNED_LINK_CHARS` is not looked at: no spelling of a link is that long, and reading
   * a viewer-chosen value with the loose patterns costs time that grows faster than its length.
   */
  identify(value: string): string | null;
  /**
   * The token's fields when the value is the format's one canonical spelling (exactly as `encode` writes
   * it: lower-case hex, times in decimal without leading zeros or sign), else null. Only the canonical
   * spelling is accepted: the hash covers the fields' concatenation, not their boundaries, so any other
   * reading of the same characters is a different link with the same hash.
   */
  parse(value: string): SignedToken | null;
  /** The lower-case hex hash of a token's fields for a subject and a secret. */
  digest(token: Omit<SignedToken, "hash">, subject: LinkSubject, secret: string): string;
  /** The parameter value for a token. */
  encode(token: SignedToken): string;
}

/**
 * The longest value `identify` reads. The longest canonical link is about 130 characters (a 40-character
 * hash, a 64-character Flussonic salt, two 11-digit times); room is left for a few spaces, signs or zeros.
 */
export const MAX_SIGNED_LINK_CHARS = 256;
