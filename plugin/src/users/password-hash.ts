import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";
import { secretsEqual } from "../core/secrets.js";
import { DEFAULT_SCRYPT, SCRYPT_PREFIX, type StoredPassword } from "./stored-password.js";

const HASH_BYTES = 32;
const SALT_BYTES = 16;

/**
 * Hashes a password for the configuration with a fresh random salt.
 *
 * @example
 * await hashPassword("demo"); // "scrypt$16384$8$1$<salt>$<hash>"
 */
export async function hashPassword(
  password: string,
  factors: { cost: number; blockSize: number; parallelization: number } = DEFAULT_SCRYPT,
): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, HASH_BYTES, factors);
  return [
    SCRYPT_PREFIX.slice(0, -1),
    factors.cost,
    factors.blockSize,
    factors.parallelization,
    salt.toString("base64url"),
    hash.toString("base64url"),
  ].join("$");
}

/** True when the password matches the stored one; compared in constant time either way. */
export async function verifyPassword(password: string, stored: StoredPassword): Promise<boolean> {
  if (stored.kind === "plain") return secretsEqual(password, stored.text);
  const expected = Buffer.from(stored.hash, "base64url");
  const actual = await derive(password, Buffer.from(stored.salt, "base64url"), expected.length, stored);
  return timingSafeEqual(actual, expected);
}

function derive(
  password: string,
  salt: Buffer,
  length: number,
  factors: { cost: number; blockSize: number; parallelization: number },
): Promise<Buffer> {
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
