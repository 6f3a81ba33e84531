import { z } from "zod";
import { millisecondsSchema } from "../config/value-schemas.js";

/** A whole number of days, at least 0. */
const daysSchema = z.number().int("must be a whole number of days").min(0, "must be at least 0 days");

/** `stats`: the ledger of closed sessions (SQLite) that viewing statistics are read from. */
export const statsSchema = z
  .strictObject({
    file: z.string().min(1, "must be a file path").nullable().default(null),
    flushIntervalMs: millisecondsSchema(100).max(10000, "must be at most 10000 ms").default(1000),
    /**
     * How long a write waits for a database locked by another process before it gives up and is retried
     * at the next flush. Every such wait blocks the event loop, so keep it small.
     */
    busyTimeoutMs: millisecondsSchema(0).max(1000, "must be at most 1000 ms: a write blocks every viewer while it waits").default(50),
    /** Closed sessions kept in memory while the database refuses writes; beyond this the oldest are dropped. */
    maxPendingRows: z
      .number()
      .int("must be a whole number of rows")
      .min(100, "must be at least 100 rows")
      .max(10_000_000, "must be at most 10000000 rows")
      .default(100_000),
    /**
     * Days to keep sessions that never played (denied, refused by a limit, left during the check, an HLS session
     * that fetched no segment): the rows of identified viewers and the per-minute counters of the others; 0 = do not store them.
     */
    deniedRetentionDays: daysSchema.default(7),
    /** Days to keep every session; 0 = forever. */
    retentionDays: daysSchema.default(0),
  })
  .prefault({});
