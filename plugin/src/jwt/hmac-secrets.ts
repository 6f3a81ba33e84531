import { createHmac, timingSafeEqual } from "node:crypto";

/** The hash of each HS algorithm. */
const HASH_OF: Readonly<Record<string, string>> = { HS256: "sha256", HS384: "sha384", HS512: "sha512" };

/**
 * The HMAC secrets of `auth.jwt.secrets`, checking a compact JWS's signature synchronously with
 * node:crypto. jose verifies through WebCrypto, whose every call is a round trip through libuv's thread
 * pool (hundreds of µs at p50 on a busy machine); an HMAC here costs a few µs and keeps the chain's step
 * synchronous. Every secret is tried (rotation), each compared in constant time; a public key is never
 * one of them, so no token can pass an RSA or EC key off as an HMAC secret.
 */
export class HmacSecrets {
  readonly #secrets: readonly Buffer[];

  constructor(secrets: readonly string[]) {
    this.#secrets = secrets.map((secret) => Buffer.from(secret, "utf8"));
  }

  get size(): number {
    return this.#secrets.length;
  }

  /** True when the token's signature is the HMAC (of `alg`) of its first two parts under one of the secrets. */
  verify(token: string, alg: string): boolean {
    const hash = HASH_OF[alg];
    if (hash === undefined) return false;
    const dot = token.lastIndexOf(".");
    const signed = token.slice(0, dot);
    const presented = Buffer.from(token.slice(dot + 1), "base64url");
    let matched = false;
    for (const secret of this.#secrets) {
      const expected = createHmac(hash, secret).update(signed, "ascii").digest();
      // No early exit: the time taken does not tell which secret (if any) matched.
      if (expected.length === presented.length && timingSafeEqual(expected, presented)) matched = true;
    }
    return matched;
  }
}
