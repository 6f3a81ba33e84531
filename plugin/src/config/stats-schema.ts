import { z } from "zod";
import { millisecondsSchema } from "./value-schemas.js";

/** `stats`: the ledger of closed sessions (SQLite) that viewing statistics are read from. */
export const statsSchema = z.strictObject({
  file: z.string().min(1, "must be a file path").nullable().default(null),
  flushIntervalMs: millisecondsSchema(100).max(10000, "must be at most 10000 ms").default(1000),
}).prefault({});
