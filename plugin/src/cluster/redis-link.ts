import { systemClock, type Clock } from "../core/clock.js";
import { LogRateLimit } from "../core/log-rate-limit.js";
import type { Logger } from "../core/log.js";
import { firstKeyOf, hostPortOf, type RedisTarget } from "./redis-target.js";

/** Raised when Redis did not answer within the configured time, or the connection is down. */
export class RedisUnavailable extends Error {
  constructor(what: string) {
    super(what);
    this.name = "RedisUnavailable";
  }
}

/** Redis answered with an error (a script's fault, NOSCRIPT): Redis is up, the command is wrong. */
export class RedisReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RedisReplyError";
  }
}

/**
 * One Redis connection as the cluster layer uses it: raw commands, each answered in time or failed.
 * This is the one seam to Redis: behind it sits a single client, a Sentinel-managed client (it follows
 * a failover to the new master) or a Redis Cluster client (it routes each command by its first key).
 */
export interface RedisConnection {
  /** Sends one command; rejects with RedisUnavailable after `timeoutMs` or when disconnected. */
  call(args: readonly string[], timeoutMs?: number): Promise<unknown>;
  close(): Promise<void>;
}

/** The two connections an edge holds: commands, and a blocking reader for the command stream. */
export interface RedisLink {
  commands: RedisConnection;
  reader: RedisConnection;
}

type RedisModule = typeof import("redis");

/** What the three node-redis clients share, as this file drives them. */
interface DrivenClient {
  readonly isReady: boolean;
  send(args: string[]): Promise<unknown>;
  destroy(): void | Promise<void>;
}

/**
 * Opens the edge's Redis connections with node-redis (the `redis` package), imported here only: an
 * install without a `cluster` section never loads it. node-redis (not ioredis) because it is the one
 * under active development (Cluster, Sentinel, RESP3); only this file knows it.
 * `target` is one server (a URL string works too), a Sentinel-watched master, or a Redis Cluster. Each
 * of the two connections is a client of its own: the reader blocks on XREAD, which would hold up the
 * commands sharing its socket (or its Sentinel pool lease, or its Cluster node connection).
 * Offline queueing is off so a command fails at once while disconnected instead of waiting; the clients
 * reconnect by themselves (backing off to 1 s), so Redis coming back needs no restart.
 */
export async function openRedisLink(
  target: RedisTarget | string,
  timeoutMs: number,
  log: Logger,
  clock: Clock = systemClock,
): Promise<RedisLink> {
  const redis = await import("redis");
  const isReply = (error: unknown) => error instanceof redis.ErrorReply;
  // node-redis reports every failed reconnect: one line per 5 s is enough to be loud without flooding.
  const errorLog = new LogRateLimit(clock, 5000);
  const onError = (error: unknown) => {
    const errors = errorLog.hit();
    if (errors === 0) return;
    // The Sentinel client reports some errors as bare strings.
    const err = error instanceof Error ? { name: error.name, message: error.message } : { name: "Error", message: String(error) };
    log.error({ event: "cluster.redis_error", errors, err }, "Redis connection error");
  };
  const resolved: RedisTarget = typeof target === "string" ? { kind: "single", url: target } : target;
  const make = () => {
    const client = clientFor(redis, resolved, timeoutMs, onError);
    return connectionOf(client, timeoutMs, isReply);
  };
  return { commands: make(), reader: make() };
}

function socketOptions(timeoutMs: number) {
  return { connectTimeout: Math.max(timeoutMs, 1000), reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1000) };
}

function clientFor(redis: RedisModule, target: RedisTarget, timeoutMs: number, onError: (error: unknown) => void): DrivenClient {
  if (target.kind === "sentinel") return sentinelClient(redis, target, timeoutMs, onError);
  if (target.kind === "cluster") return clusterClient(redis, target, timeoutMs, onError);
  const client = redis.createClient({ url: target.url, disableOfflineQueue: true, socket: socketOptions(timeoutMs) });
  client.on("error", onError);
  client.connect().catch(onError);
  return {
    get isReady() {
      return client.isReady;
    },
    send: (args) => client.sendCommand(args),
    destroy: () => client.destroy(),
  };
}

/**
 * A client of the master the Sentinels name. It listens to their `+switch-master` and moves to the
 * promoted replica by itself; meanwhile its commands fail (or time out) and the edge follows
 * `onRedisDown` until a heartbeat answers again.
 */
function sentinelClient(
  redis: RedisModule,
  target: Extract<RedisTarget, { kind: "sentinel" }>,
  timeoutMs: number,
  onError: (error: unknown) => void,
): DrivenClient {
  const client = redis.createSentinel({
    name: target.name,
    sentinelRootNodes: target.nodes.map(hostPortOf),
    nodeClientOptions: {
      disableOfflineQueue: true,
      socket: socketOptions(timeoutMs),
      ...(target.password === null ? {} : { password: target.password }),
    },
    sentinelClientOptions: {
      socket: socketOptions(timeoutMs),
      ...(target.sentinelPassword === null ? {} : { password: target.sentinelPassword }),
    },
    // A rescan catches a failover whose announcement this client missed (it was reconnecting then).
    scanInterval: 2000,
    passthroughClientErrorEvents: true,
  });
  client.on("error", onError);
  client.connect().catch(onError);
  return {
    get isReady() {
      return client.isReady;
    },
    send: (args) => client.sendCommand(false, args),
    destroy: () => client.destroy(),
  };
}

/**
 * A Redis Cluster client: it reads the slot map from the nodes listed and routes each command by its
 * first key (`firstKeyOf`). Credentials and TLS of the first node's URL apply to every node it finds.
 */
function clusterClient(
  redis: RedisModule,
  target: Extract<RedisTarget, { kind: "cluster" }>,
  timeoutMs: number,
  onError: (error: unknown) => void,
): DrivenClient {
  const first = new URL(target.nodes[0]!);
  const client = redis.createCluster({
    rootNodes: target.nodes.map((url) => ({ url })),
    defaults: {
      disableOfflineQueue: true,
      ...(first.username === "" ? {} : { username: decodeURIComponent(first.username) }),
      ...(first.password === "" ? {} : { password: decodeURIComponent(first.password) }),
      socket: { ...socketOptions(timeoutMs), ...(first.protocol === "rediss:" ? { tls: true as const } : {}) },
    },
  });
  client.on("error", onError);
  client.connect().catch(onError);
  return {
    get isReady() {
      return client.isReady;
    },
    send: (args) => client.sendCommand(firstKeyOf(args), false, args),
    destroy: () => client.destroy(),
  };
}

function connectionOf(client: DrivenClient, defaultTimeoutMs: number, isReply: (error: unknown) => boolean): RedisConnection {
  return {
    call(args, timeoutMs = defaultTimeoutMs) {
      if (!client.isReady) return Promise.reject(new RedisUnavailable("Redis is not connected"));
      return withTimeout(client.send([...args]), timeoutMs, isReply);
    },
    async close() {
      await Promise.resolve(client.destroy()).catch(() => undefined);
    },
  };
}

/** The command's answer, or RedisUnavailable once `ms` pass (a stopped Redis never answers). */
function withTimeout<T>(work: Promise<T>, ms: number, isReply: (error: unknown) => boolean): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new RedisUnavailable(`Redis did not answer within ${ms} ms`)), ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        if (isReply(error)) reject(new RedisReplyError((error as Error).message));
        else reject(new RedisUnavailable(`Redis command failed: ${(error as Error).message}`));
      },
    );
  });
}
