import type { Clock } from "../core/clock.js";
import type {
  ClusterStatus,
  ClusterView,
  CoveredSession,
  EdgeCommand,
  LimitKey,
  SharedAdmission,
  SharedLimits,
  SharedSessionSnapshot,
} from "../core/cluster-seams.js";
import type { Logger } from "../core/log.js";
import type { SessionGrantFacts, SessionStore } from "../core/session-store.js";
import type { ViewerSession } from "../core/viewer-session.js";
import type { ClusterConfig } from "./cluster-schema.js";
import type { EdgeCommandTargets } from "../sessions/edge-commands.js";
import { ClusterKeys } from "./cluster-keys.js";
import { ClusterViews } from "./cluster-views.js";
import { CommandStream } from "./command-stream.js";
import { EdgeLease } from "./edge-lease.js";
import { openRedisLink, type RedisLink } from "./redis-link.js";
import { redisTargetOf, type RedisTarget } from "./redis-target.js";
import { SharedLimitSlots } from "./shared-limit-slots.js";
import { SharedLinkUses } from "./shared-link-uses.js";
import type { UseCounter } from "../core/use-counter.js";

export { LEASE_HEARTBEATS } from "./edge-lease.js";

/** What the edge's cluster link reports (API and /metrics); declared beside `ClusterView` in core. */
export type { ClusterStatus };

export interface EdgeClusterDeps {
  registry: SessionStore;
  commandTargets: EdgeCommandTargets;
  clock: Clock;
  log: Logger;
  /** This edge's statistics totals, republished to Redis for the merged view (undefined: none). */
  statsTotals?: () => unknown;
  /** Opens the Redis connections; tests and benches may pass their own. Default: node-redis. */
  openLink?: (target: RedisTarget, timeoutMs: number, log: Logger, clock: Clock) => Promise<RedisLink>;
}

/**
 * EdgeCluster joins this edge to the others through one Redis (docs/scaling.md). The local session
 * store stays the owner of this edge's connections. It composes four parts, one concept each:
 * - `EdgeLease` (edge-lease.ts): the link, Redis up or down, and the heartbeat that renews this edge's
 *   lease so a crashed edge's sessions lapse by themselves;
 * - `SharedLimitSlots` (shared-limit-slots.ts): the `SharedLimits` seam, limit slots taken atomically
 *   across every edge (one Lua script), and the re-registration of this edge's sessions after an outage;
 * - `CommandStream` (command-stream.ts): every edge's commands (close, revoke, lift) through a Redis
 *   stream, read from where it left off, so an edge that was cut off catches up when it is back;
 * - `ClusterViews` (cluster-views.ts): the sessions and statistics of every edge, for the API.
 *
 * Redis away or slow: nothing waits longer than `timeoutMs`; newcomers are counted here alone
 * (`onRedisDown: local`) or refused (`deny`); live viewers are untouched. The heartbeat keeps probing,
 * and when Redis answers again the edge re-registers every live session and publishes what it queued.
 * Building one opens nothing: `start` connects, `close` disconnects.
 */
export class EdgeCluster implements SharedLimits, ClusterView {
  readonly #config: ClusterConfig;
  readonly #deps: EdgeClusterDeps;
  readonly #lease: EdgeLease;
  readonly #limits: SharedLimitSlots;
  readonly #commands: CommandStream;
  readonly #views: ClusterViews;
  readonly #uses: SharedLinkUses;
  #closed = false;

  constructor(config: ClusterConfig, deps: EdgeClusterDeps) {
    this.#config = config;
    this.#deps = deps;
    const keys = new ClusterKeys(config.keyPrefix);
    this.#lease = new EdgeLease(config, keys, deps.log, deps.statsTotals);
    this.#limits = new SharedLimitSlots(this.#lease, keys, config, deps.registry, deps.clock, deps.log);
    this.#commands = new CommandStream(this.#lease, keys, config, deps.commandTargets, deps.clock, deps.log);
    this.#views = new ClusterViews(this.#lease, keys, deps.registry, deps.clock);
    this.#uses = new SharedLinkUses(this.#lease, keys, config, deps.clock);
    // Redis answers again (or this edge's lease lapsed, or a session admitted meanwhile is missing
    // there): its sessions and counts first, then the revocations Redis lost and the commands queued meanwhile.
    this.#lease.onRecover(
      async () => {
        await this.#limits.resync();
        await this.#commands.recover();
        return this.#limits.heldCount;
      },
      () => this.#limits.stale,
    );
  }

  get nodeId(): string {
    return this.#config.nodeId;
  }

  /** How long a crashed edge's sessions stay listed and counted at most, ms. */
  get leaseMs(): number {
    return this.#lease.leaseMs;
  }

  status(): ClusterStatus {
    return {
      node: this.#config.nodeId,
      redis: this.#lease.up ? "up" : "down",
      onRedisDown: this.#config.onRedisDown,
      ...this.#limits.counters(),
    };
  }

  /**
   * Connects and registers this edge; resolves once Redis answered or, at the latest, after a few
   * tries (the edge then starts on its onRedisDown policy and keeps trying every heartbeat).
   */
  async start(): Promise<void> {
    const open = this.#deps.openLink ?? openRedisLink;
    const link = await open(redisTargetOf(this.#config), this.#config.timeoutMs, this.#deps.log, this.#deps.clock);
    if (this.#closed) {
      await link.commands.close();
      await link.reader.close();
      return;
    }
    await this.#lease.start(link);
    this.#commands.start();
  }

  /** Takes a slot under every limit across all edges (see SharedLimits). Never waits longer than the timeout. */
  take(session: ViewerSession, facts: SessionGrantFacts, limits: readonly LimitKey[]): Promise<SharedAdmission> {
    return this.#limits.take(session, facts, limits);
  }

  /**
   * close-oldest across edges: the oldest playing session under `limit` on any live edge (by when it
   * started playing) is closed as `limit`, this edge's at once, another edge's by a `close-session`
   * command that edge applies from the stream (its slot is given back when it ends there). False when
   * none is found or Redis is away.
   */
  async closeOldest(limit: LimitKey): Promise<boolean> {
    const all = await this.#views.sessions();
    const oldest = all
      ?.filter((s) => s.state === "playing" && underLimit(s, limit))
      .sort((x, y) => (x.playingSince ?? x.startedAt) - (y.playingSince ?? y.startedAt))[0];
    if (oldest === undefined) return false;
    this.#deps.log.info(
      { event: "cluster.close_oldest", sessionId: oldest.id, node: oldest.node, limit: limit.kind },
      "closing the oldest session under a full limit",
    );
    if (oldest.node === this.#config.nodeId) {
      const session = this.#deps.registry.get(oldest.id);
      if (session !== undefined) this.#deps.registry.close(session, "limit");
      return true;
    }
    await this.#commands.publish({ op: "close-session", id: oldest.id, reason: "limit" });
    return true;
  }

  /** The uses of signed links with `maxUses`, counted for every edge at once (SharedLinkUses). */
  get linkUses(): UseCounter {
    return this.#uses;
  }

  /** Every edge's live sessions (this edge's read locally, so its bytes are current), or undefined while Redis is away. */
  sessions(): Promise<SharedSessionSnapshot[] | undefined> {
    return this.#views.sessions();
  }

  /** Sends a command to every other edge right behind a read of their sessions (`ClusterView.publishAfterRead`). */
  publishAfterRead(command: EdgeCommand): Promise<CoveredSession[] | undefined> {
    return this.#views.othersThen(() => this.#commands.publish(command));
  }

  /** Every live edge with its shared sessions' count. */
  edges(): Promise<{ node: string; sessions: number }[] | undefined> {
    return this.#views.edges();
  }

  /** Statistics totals every live edge published, by edge. */
  statsByNode(): Promise<Record<string, unknown> | undefined> {
    return this.#views.statsByNode();
  }

  /** Sends a command (already applied here) to every other edge; queued while Redis is away. */
  publish(command: EdgeCommand): Promise<void> {
    return this.#commands.publish(command);
  }

  /** Stops the heartbeat and the reader and closes the connections. This edge's sessions lapse with its lease. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#limits.close();
    this.#commands.stop();
    await this.#lease.close();
    await this.#commands.closed();
  }
}

/** Whether a session counts under a limit key (a user, an address, a channel). */
function underLimit(session: SharedSessionSnapshot, limit: LimitKey): boolean {
  if (limit.kind === "user") return session.userId === limit.value;
  if (limit.kind === "ip") return session.ip === limit.value;
  return `${session.app}/${session.channel}` === limit.value;
}
