import type { Logger } from "../core/log.js";
import type { ClusterConfig } from "./cluster-schema.js";
import type { ClusterKeys } from "./cluster-keys.js";
import { HEARTBEAT, runScript } from "./cluster-scripts.js";
import type { RedisLink } from "./redis-link.js";
import { pause } from "./redis-replies.js";

/** A lease lasts this many heartbeats: an edge that stops beating drops out after at most that many. */
export const LEASE_HEARTBEATS = 3;
/** An edge whose lease lapsed this long ago is forgotten (its session list deleted). */
const FORGET_AFTER_MS = 60_000;

/**
 * Re-registers this edge after Redis was away or its lease lapsed (its sessions and counts, then its
 * revocations and queued commands); resolves to the number of sessions re-registered.
 */
export type RecoverEdge = () => Promise<number>;

/**
 * EdgeLease is this edge's membership in the cluster: the link to Redis, whether Redis is answering
 * (`up`), and the heartbeat that renews the edge's lease every `heartbeatMs`, so a crashed edge's
 * sessions lapse by themselves. The first heartbeat that succeeds after an outage (or after the lease
 * lapsed) runs the recovery first; every fifth also does the upkeep (statistics totals, forgetting
 * edges gone a minute). Every other part of the cluster reads `link` and `up` here and reports a
 * failure with `markDown`.
 */
export class EdgeLease {
  readonly #config: ClusterConfig;
  readonly #keys: ClusterKeys;
  readonly #log: Logger;
  readonly #statsTotals: (() => unknown) | undefined;
  readonly leaseMs: number;
  #recover: RecoverEdge = async () => 0;
  #stale: () => boolean = () => false;
  #link: RedisLink | undefined;
  #up = false;
  #closed = false;
  #beating: Promise<void> | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #beats = 0;

  constructor(config: ClusterConfig, keys: ClusterKeys, log: Logger, statsTotals?: () => unknown) {
    this.#config = config;
    this.#keys = keys;
    this.#log = log;
    this.#statsTotals = statsTotals;
    this.leaseMs = LEASE_HEARTBEATS * config.heartbeatMs;
  }

  get nodeId(): string {
    return this.#config.nodeId;
  }

  /** The connections, once `start` has opened them. */
  get link(): RedisLink | undefined {
    return this.#link;
  }

  /** Redis answered the latest heartbeat (or command) and this edge is registered. */
  get up(): boolean {
    return this.#up;
  }

  /**
   * What a heartbeat runs when Redis answers again, or while `stale` says this edge's entries in Redis
   * miss something (a session admitted during the previous recovery); set once, before `start`.
   */
  onRecover(recover: RecoverEdge, stale: () => boolean = () => false): void {
    this.#recover = recover;
    this.#stale = stale;
  }

  /**
   * Registers this edge over `link`; resolves once Redis answered or, at the latest, after a few tries
   * (the edge then starts on its onRedisDown policy), then beats every `heartbeatMs`.
   */
  async start(link: RedisLink): Promise<void> {
    this.#link = link;
    // The wait is a timer, not a clock reading: an injected clock that stands still cannot hold start forever.
    let waited = false;
    const deadline = setTimeout(() => (waited = true), Math.max(2000, 4 * this.#config.timeoutMs));
    try {
      while (!this.#up && !this.#closed && !waited) {
        await this.#beat();
        if (!this.#up) await pause(50);
      }
    } finally {
      clearTimeout(deadline);
    }
    if (!this.#up)
      this.#log.error(
        { event: "cluster.redis_down", node: this.nodeId, policy: this.#config.onRedisDown },
        `Redis unreachable at start; new viewers: ${this.policyText()}`,
      );
    if (this.#closed) return;
    this.#heartbeat = setInterval(() => void this.#beat(), this.#config.heartbeatMs);
    this.#heartbeat.unref();
  }

  /** Redis failed an operation: new viewers follow `onRedisDown` until a heartbeat succeeds again. */
  markDown(error: unknown): void {
    if (!this.#up) return;
    this.#up = false;
    this.#log.error(
      {
        event: "cluster.redis_down",
        node: this.nodeId,
        policy: this.#config.onRedisDown,
        err: { name: (error as Error).name, message: (error as Error).message },
      },
      `Redis unreachable; new viewers: ${this.policyText()} until it is back`,
    );
  }

  policyText(): string {
    return this.#config.onRedisDown === "local" ? "limits counted on this edge alone" : "refused";
  }

  /** Stops the heartbeat, leaves the cluster (this edge's sessions lapse with its lease) and closes the connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    await this.#beating;
    const link = this.#link;
    if (link !== undefined) {
      if (this.#up) await link.commands.call(["ZREM", this.#keys.nodes, this.nodeId]).catch(() => undefined);
      await link.commands.close();
      await link.reader.close();
    }
  }

  /** One heartbeat: renew the lease; after an outage (or a lapsed lease) re-register everything first. */
  #beat(): Promise<void> {
    if (this.#beating !== undefined || this.#link === undefined || this.#closed) return this.#beating ?? Promise.resolve();
    this.#beating = (async () => {
      try {
        const [live] = (await runScript(this.#link!.commands, HEARTBEAT, [this.#keys.nodes], [this.nodeId, String(this.leaseMs)])) as [
          number,
          number,
        ];
        if (!this.#up || Number(live) !== 1 || this.#stale()) {
          const sessions = await this.#recover();
          if (!this.#up) {
            this.#up = true;
            this.#log.warn(
              { event: "cluster.redis_up", node: this.nodeId, sessions },
              "Redis reachable; this edge's sessions re-registered",
            );
          }
        }
        if (++this.#beats % 5 === 0) await this.#upkeep();
      } catch (error) {
        this.markDown(error);
      } finally {
        this.#beating = undefined;
      }
    })();
    return this.#beating;
  }

  /** Every few beats: publish this edge's statistics totals, and forget edges gone for a minute. */
  async #upkeep(): Promise<void> {
    const link = this.#link!;
    const totals = this.#statsTotals?.();
    if (totals !== undefined) await link.commands.call(["HSET", this.#keys.stats, this.nodeId, JSON.stringify(totals)]);
    // A second renewal, for Redis's clock: "gone a minute" is measured on the clock the leases use.
    const [, redisNow] = (await runScript(link.commands, HEARTBEAT, [this.#keys.nodes], [this.nodeId, String(this.leaseMs)])) as [
      number,
      number,
    ];
    const gone = (await link.commands.call([
      "ZRANGEBYSCORE",
      this.#keys.nodes,
      "-inf",
      String(Number(redisNow) - FORGET_AFTER_MS),
    ])) as string[];
    for (const node of gone) {
      await link.commands.call(["DEL", this.#keys.sessionsOf(node)]);
      await link.commands.call(["ZREM", this.#keys.nodes, node]);
      await link.commands.call(["HDEL", this.#keys.stats, node]);
    }
  }
}
