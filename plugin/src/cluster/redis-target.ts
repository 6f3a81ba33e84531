import type { ClusterConfig } from "./cluster-schema.js";

/** Where an edge's Redis is: one server, a master watched by Sentinels, or a Redis Cluster. */
export type RedisTarget =
  | { kind: "single"; url: string }
  | { kind: "sentinel"; name: string; nodes: readonly string[]; password: string | null; sentinelPassword: string | null }
  | { kind: "cluster"; nodes: readonly string[] };

/** The target a validated `cluster` section names (the schema lets exactly one of the three through). */
export function redisTargetOf(config: ClusterConfig): RedisTarget {
  if (config.sentinel !== undefined) return { kind: "sentinel", ...config.sentinel };
  if (config.redisCluster !== undefined) return { kind: "cluster", nodes: config.redisCluster.nodes };
  return { kind: "single", url: config.redis! };
}

/** `host:port` (IPv6 in brackets) as node-redis wants it. */
export function hostPortOf(text: string): { host: string; port: number } {
  const colon = text.lastIndexOf(":");
  return { host: text.slice(0, colon).replace(/^\[(.*)\]$/, "$1"), port: Number(text.slice(colon + 1)) };
}

/**
 * The key a command is routed by on Redis Cluster: the first key of a script (EVAL/EVALSHA; every key
 * of one script shares a slot), the first stream of an XREAD, else the command's first argument (every
 * other command the cluster layer sends names its key first). Undefined: any node will do.
 */
export function firstKeyOf(args: readonly string[]): string | undefined {
  const name = args[0]?.toUpperCase();
  if (name === "EVAL" || name === "EVALSHA") return Number(args[2]) > 0 ? args[3] : undefined;
  if (name === "XREAD") {
    const streams = args.findIndex((a) => a.toUpperCase() === "STREAMS");
    return streams < 0 ? undefined : args[streams + 1];
  }
  return args[1];
}
