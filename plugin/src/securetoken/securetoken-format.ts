import type { SecureTokenFormatName } from "../config/securetoken-schema.js";

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
  /** The token's fields, or null when the value does not have this format's shape (the step then passes). */
  parse(value: string): SignedToken | null;
  /** The lower-case hex hash of a token's fields for a subject and a secret. */
  digest(token: Omit<SignedToken, "hash">, subject: LinkSubject, secret: string): string;
  /** The parameter value for a token. */
  encode(token: SignedToken): string;
}
