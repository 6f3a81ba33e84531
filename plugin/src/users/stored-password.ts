/**
 * The stored-password value of the configuration: its type and its parser (scrypt hash or tolerated
 * plaintext). It lives with the configuration so the users schema can validate passwords without
 * reaching up into the users folder; hashing and verifying stay in users/password-hash.ts.
 */

/**
 * A user's stored password, as the configuration gives it: an scrypt hash (the recommended form) or,
 * tolerated with a warning at load, the plaintext itself. Salt and hash are kept as base64url text so
 * the value can sit in a frozen configuration.
 */
export type StoredPassword =
  | {
      readonly kind: "scrypt";
      readonly cost: number;
      readonly blockSize: number;
      readonly parallelization: number;
      readonly salt: string;
      readonly hash: string;
    }
  | { readonly kind: "plain"; readonly text: string };

/** The prefix that marks a stored password as an scrypt hash: `scrypt$N$r$p$salt$hash`. */
export const SCRYPT_PREFIX = "scrypt$";

/** Default scrypt work factors: N = 2^14, r = 8, p = 1 (about 16 MiB and 30-60 ms per hash). */
export const DEFAULT_SCRYPT = { cost: 16384, blockSize: 8, parallelization: 1 } as const;

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Parses a stored password. Text that starts with `scrypt$` must be a well-formed hash
 * (`scrypt$<N>$<r>$<p>$<salt base64url>$<hash base64url>`, N a power of two); anything else is taken as
 * plaintext. Returns an error message (never quoting the value) when a hash is malformed.
 */
export function parseStoredPassword(text: string): StoredPassword | string {
  if (!text.startsWith(SCRYPT_PREFIX)) return { kind: "plain", text };
  const parts = text.split("$");
  if (parts.length !== 6) return "is not a valid scrypt hash (expected scrypt$N$r$p$salt$hash)";
  const [, n, r, p, salt = "", hash = ""] = parts;
  const cost = Number(n);
  const blockSize = Number(r);
  const parallelization = Number(p);
  if (!Number.isInteger(cost) || cost < 2 || cost > 2 ** 20 || (cost & (cost - 1)) !== 0)
    return "is not a valid scrypt hash (N must be a power of two, 2..2^20)";
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > 64) return "is not a valid scrypt hash (r must be 1..64)";
  if (!Number.isInteger(parallelization) || parallelization < 1 || parallelization > 16)
    return "is not a valid scrypt hash (p must be 1..16)";
  if (!BASE64URL.test(salt) || !BASE64URL.test(hash)) return "is not a valid scrypt hash (salt and hash must be base64url)";
  if (Buffer.from(hash, "base64url").length < 16) return "is not a valid scrypt hash (hash shorter than 16 bytes)";
  return { kind: "scrypt", cost, blockSize, parallelization, salt, hash };
}
