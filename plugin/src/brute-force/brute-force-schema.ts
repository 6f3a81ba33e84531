import { z } from "zod";
import { millisecondsSchema, secondsSchema } from "../config/value-schemas.js";

/**
 * `auth.bruteForce`: ban an address after repeated failed credentials (users and securetoken steps),
 * and bound the password hashing that viewers can cause.
 */
export const bruteForceSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Failed attempts from one address within `windowSec` that trigger a ban; also how many password checks one address may have running at once. */
    maxFailures: z.number().int("must be a whole number").min(1, "must be at least 1").default(10),
    windowSec: secondsSchema(1).default(60),
    banSec: secondsSchema(1).default(600),
    /**
     * scrypt hashes running at once, process-wide (also when `enabled` is false). Keep it below libuv's
     * thread pool (UV_THREADPOOL_SIZE, 4 by default), which also reads the files HLS serves.
     */
    maxConcurrentHashes: z.number().int("must be a whole number").min(1, "must be at least 1").max(64, "must be at most 64").default(2),
    /** Password checks of new viewers that may wait for a hash slot; one more is refused at once as busy. */
    maxQueuedHashes: z
      .number()
      .int("must be a whole number")
      .min(0, "must be at least 0")
      .max(100_000, "must be at most 100000")
      .default(100),
    /** How long a new viewer's password check waits for a hash slot before it is refused as busy. */
    hashQueueTimeoutMs: millisecondsSchema(1).max(60_000, "must be at most 60000 ms").default(3000),
  })
  .prefault({});

/** The validated `auth.bruteForce` section. */
export type BruteForceConfig = z.output<typeof bruteForceSchema>;
