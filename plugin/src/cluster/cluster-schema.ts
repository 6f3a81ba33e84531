import { z } from "zod";
import { millisecondsSchema } from "../config/value-schemas.js";

/** What an edge does with a new viewer while Redis cannot be reached in time. */
export const REDIS_DOWN_POLICIES = ["local", "deny"] as const;
export type RedisDownPolicy = (typeof REDIS_DOWN_POLICIES)[number];

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * `cluster`: several edges sharing sessions, limits and revocations through one Redis (docs/scaling.md).
 * Absent (null), the plugin runs alone exactly as before and never loads a Redis client.
 */
export const clusterSchema = z
  .strictObject({
    /** `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS). */
    redis: z.string().regex(/^rediss?:\/\/[^\s]+$/, "must be a redis:// or rediss:// URL"),
    /** This edge's name, unique in the deployment: shown as `node` on every session. */
    nodeId: z.string().regex(NAME, "must be 1-64 letters, digits, dots, dashes or underscores"),
    /** `local`: count limits on this edge alone while Redis is away (logged, in /metrics); `deny`: refuse new viewers. */
    onRedisDown: z.enum(REDIS_DOWN_POLICIES).default("local"),
    /** Every key of the deployment is `{prefix}:…` (one hash tag: the Lua scripts run on Redis Cluster too). */
    keyPrefix: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,32}$/, "must be 1-32 letters, digits, dots, dashes or underscores")
      .default("va"),
    /** The longest a viewer waits on Redis before onRedisDown decides. */
    timeoutMs: millisecondsSchema(10).max(10_000, "must be at most 10000 ms").default(250),
    /** How often the edge renews its lease; a silent edge's sessions lapse after 3 of these. */
    heartbeatMs: millisecondsSchema(100).max(60_000, "must be at most 60000 ms").default(1000),
  })
  .nullable()
  .default(null);

export type ClusterConfig = NonNullable<z.output<typeof clusterSchema>>;
