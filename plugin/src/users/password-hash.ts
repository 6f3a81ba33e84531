import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";
import { secretsEqual } from "../secrets.js";

/**
 * A user's stored password, as the configuration gives it: an scrypt hash (the recommended form) or,
 * tolerated with a warning at load, the plaintext itself. Salt and hash are kept as base64url text so
 * the value can sit in a frozen configuration.
 */
export type StoredPassword =
  | { readonly kind: "scrypt"; readonly cost: number; readonly blockSize: number; readonly parallelization: number; readonly salt: string; readonly hash: string }
  | { readonly kind: "plain"; readonly text: string };

/** The prefix that marks a stored password as an scrypt hash: `scrypt$N$r$p$salt$hash`. */
export const SCRYPT_PREFIX = "scrypt$";

/** Default scrypt work factors: N = 2^14, r = 8, p = 1 (about 16 MiB and 30-60 ms per hash). */
export const DEFAULT_SCRYPT = { cost: 16384, blockSize: 8, parallelization: 1 } as const;

const HASH_BYTES = 32;
const SALT_BYTES = 16;
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
  if (!Number.isInteger(cost) || cost < 2 || cost > 2 ** 20 || (cost & (cost - 1)) !== 0) return "is not a valid scrypt hash (N must be a power of two, 2..2^20)";
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > 64) return "is not a valid scrypt hash (r must be 1..64)";
  if (!Number.isInteger(parallelization) || parallelization < 1 || parallelization > 16) return "is not a valid scrypt hash (p must be 1..16)";
  if (!BASE64URL.test(salt) || !BASE64URL.test(hash)) return "is not a valid scrypt hash (salt and hash must be base64url)";
  if (Buffer.from(hash, "base64url").length < 16) return "is not a valid scrypt hash (hash shorter than 16 bytes)";
  return { kind: "scrypt", cost, blockSize, parallelization, salt, hash };
}

/**
 * Hashes a password for the configuration with a fresh random salt.
 *
 * @example
 * await hashPassword("demo"); // "scrypt$16384$8$1$<salt>$<hash>"
 */
export async function hashPassword(password: string, factors: { cost: number; blockSize: number; parallelization: number } = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, HASH_BYTES, factors);
  return [SCRYPT_PREFIX.slice(0, -1), factors.cost, factors.blockSize, factors.parallelization, salt.toString("base64url"), hash.toString("base64url")].join("$");
}

/** True when the password matches the stored one; compared in constant time either way. */
export async function verifyPassword(password: string, stored: StoredPassword): Promise<boolean> {
  if (stored.kind === "plain") return secretsEqual(password, stored.text);
  const expected = Buffer.from(stored.hash, "base64url");
  const actual = await derive(password, Buffer.from(stored.salt, "base64url"), expected.length, stored);
  return timingSafeEqual(actual, expected);
}

function derive(password: string, salt: Buffer, length: number, factors: { cost: number; blockSize: number; parallelization: number }): Promise<Buffer> {
  const options: ScryptOptions = {
    N: factors.cost,
    r: factors.blockSize,
    p: factors.parallelization,
    // Node refuses anything above 32 MiB by default; allow what the factors need, with headroom.
    maxmem: 256 * factors.cost * factors.blockSize + 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFC"), salt, length, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}
