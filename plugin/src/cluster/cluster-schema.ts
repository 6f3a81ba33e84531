import { z } from "zod";
import { millisecondsSchema } from "../config/value-schemas.js";

/** What an edge does with a new viewer while Redis cannot be reached in time. */
export const REDIS_DOWN_POLICIES = ["local", "deny"] as const;
export type RedisDownPolicy = (typeof REDIS_DOWN_POLICIES)[number];

/** The three ways to reach Redis; a `cluster` section names exactly one. */
export const REDIS_TARGET_KEYS = ["redis", "sentinel", "redisCluster"] as const;

const NAME = /^[A-Za-z0-9._-]{1,64}$/;
const REDIS_URL = /^rediss?:\/\/[^\s]+$/;
/** `host:port`: a name or IPv4 address, or a bracketed IPv6 address, then a port. */
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):([0-9]{1,5})$/;

const hostPortSchema = z.string().refine((text) => {
  const port = HOST_PORT.exec(text)?.[2];
  return port !== undefined && Number(port) >= 1 && Number(port) <= 65535;
}, "must be host:port (port 1..65535)");

/** A password, or null for none. */
const passwordSchema = z.string().min(1, "must not be empty (null for none)").nullable().default(null);

/**
 * `sentinel`: the Redis a group of Sentinels watches; the edge asks them for the master and follows
 * a failover by itself. `password` is the Redis servers' (master and replicas), `sentinelPassword`
 * the Sentinels' own (`requirepass` in sentinel.conf).
 */
const sentinelSchema = z.strictObject({
  /** The master's name in the Sentinels' `sentinel monitor NAME …`. */
  name: z.string().regex(NAME, "must be 1-64 letters, digits, dots, dashes or underscores"),
  /** Sentinels to ask first; the others are learnt from them. Three is enough. */
  nodes: z.array(hostPortSchema).min(1, "must name at least one Sentinel").max(16, "must name at most 16 Sentinels"),
  password: passwordSchema,
  sentinelPassword: passwordSchema,
});

/** `redisCluster`: a Redis Cluster; the nodes listed are asked for the slot map, the rest is learnt. */
const redisClusterSchema = z.strictObject({
  /** `redis://[user:password@]host:port` or `rediss://…`; the first one's credentials and TLS are used for every node. */
  nodes: z
    .array(z.string().regex(REDIS_URL, "must be a redis:// or rediss:// URL"))
    .min(1, "must name at least one node")
    .max(16, "must name at most 16 nodes"),
});

/**
 * `cluster`: several edges sharing sessions, limits and revocations through one Redis (docs/scaling.md).
 * Absent (null), the plugin runs alone exactly as before and never loads a Redis client.
 */
export const clusterSchema = z
  .strictObject({
    /** `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS): one Redis server. */
    redis: z.string().regex(REDIS_URL, "must be a redis:// or rediss:// URL").optional(),
    /** A master watched by Redis Sentinel: the edge follows its failovers. */
    sentinel: sentinelSchema.optional(),
    /** A Redis Cluster. */
    redisCluster: redisClusterSchema.optional(),
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
  .superRefine((section, ctx) => {
    const given = REDIS_TARGET_KEYS.filter((key) => section[key] !== undefined);
    if (given.length === 0) ctx.addIssue({ code: "custom", message: "needs exactly one of redis, sentinel or redisCluster", path: [] });
    // The second one is the mistake named: the first is taken as meant.
    for (const key of given.slice(1))
      ctx.addIssue({
        code: "custom",
        message: `only one of redis, sentinel or redisCluster may be set (${given[0]} is)`,
        path: [key],
        input: given,
      });
  })
  .nullable()
  .default(null);

export type ClusterConfig = NonNullable<z.output<typeof clusterSchema>>;
