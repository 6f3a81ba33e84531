import { systemClock, type Clock } from "../core/clock.js";
import { LogRateLimit } from "../core/log-rate-limit.js";
import type { Logger } from "../core/log.js";

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

/** One Redis connection as the cluster layer uses it: raw commands, each answered in time or failed. */
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

/**
 * Opens the edge's Redis connections with node-redis (the `redis` package), imported here only: an
 * install without a `cluster` section never loads it. node-redis (not ioredis) because it is the one
 * under active development (Cluster, Sentinel, RESP3); only this file knows it.
 * Offline queueing is off so a command fails at once while disconnected instead of waiting; the client
 * reconnects by itself (backing off to 1 s), so Redis coming back needs no restart.
 */
export async function openRedisLink(url: string, timeoutMs: number, log: Logger, clock: Clock = systemClock): Promise<RedisLink> {
  const { createClient, ErrorReply } = await import("redis");
  const isReply = (error: unknown) => error instanceof ErrorReply;
  // node-redis reports every failed reconnect: one line per 5 s is enough to be loud without flooding.
  const errorLog = new LogRateLimit(clock, 5000);
  const onError = (error: Error) => {
    const errors = errorLog.hit();
    if (errors === 0) return;
    log.error({ event: "cluster.redis_error", errors, err: { name: error.name, message: error.message } }, "Redis connection error");
  };
  const make = () => {
    const client = createClient({
      url,
      disableOfflineQueue: true,
      socket: { connectTimeout: Math.max(timeoutMs, 1000), reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1000) },
    });
    client.on("error", onError);
    client.connect().catch(onError);
    return connectionOf(client, timeoutMs, isReply);
  };
  return { commands: make(), reader: make() };
}

interface MinimalClient {
  isReady: boolean;
  sendCommand(args: string[]): Promise<unknown>;
  destroy(): void;
}

function connectionOf(client: MinimalClient, defaultTimeoutMs: number, isReply: (error: unknown) => boolean): RedisConnection {
  return {
    call(args, timeoutMs = defaultTimeoutMs) {
      if (!client.isReady) return Promise.reject(new RedisUnavailable("Redis is not connected"));
      return withTimeout(client.sendCommand([...args]), timeoutMs, isReply);
    },
    async close() {
      client.destroy();
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
