import { z } from "zod";
import { secondsSchema } from "./value-schemas.js";

/** `auth.bruteForce`: ban an address after repeated failed credentials (users and securetoken steps). */
export const bruteForceSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Failed attempts from one address within `windowSec` that trigger a ban. */
  maxFailures: z.number().int("must be a whole number").min(1, "must be at least 1").default(10),
  windowSec: secondsSchema(1).default(60),
  banSec: secondsSchema(1).default(600),
}).prefault({});

/** The validated `auth.bruteForce` section. */
export type BruteForceConfig = z.output<typeof bruteForceSchema>;
