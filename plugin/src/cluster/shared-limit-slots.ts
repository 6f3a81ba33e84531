import type { Clock } from "../core/clock.js";
import type { LimitKey, SharedAdmission, SharedLimits } from "../core/cluster-seams.js";
import { guarded } from "../core/guarded.js";
import type { Logger } from "../core/log.js";
import type { SessionGrantFacts, SessionStore } from "../core/session-store.js";
import type { ViewerSession } from "../core/viewer-session.js";
import type { ClusterConfig } from "./cluster-schema.js";
import type { ClusterKeys } from "./cluster-keys.js";
import { RELEASE, RESYNC, TAKE, runScript } from "./cluster-scripts.js";
import type { EdgeLease } from "./edge-lease.js";
import { sharedEntryOf } from "./shared-entries.js";

/** A session of this edge as Redis knows it: the counter keys it holds and its JSON. */
interface HeldSlot {
  counters: string[];
  json: string;
  /** The re-registration count when its admission began: a later one may have replaced what it wrote. */
  generation: number;
  /** Admitted on this edge's own counts while Redis was away: Redis has nothing of it yet. */
  local?: boolean;
}

/**
 * SharedLimitSlots implements the `SharedLimits` seam (core/cluster-seams.ts) the session limiter calls:
 * it takes a slot under every limit across all edges at once (one Lua script), holds it while the
 * session plays and gives it back when it ends. While Redis is away, newcomers are counted on this
 * edge alone (`onRedisDown: local`) or refused (`deny`). It also owns what this edge re-registers
 * after an outage (`resync`): its playing sessions and their counts.
 */
export class SharedLimitSlots implements SharedLimits {
  readonly #lease: EdgeLease;
  readonly #keys: ClusterKeys;
  readonly #onRedisDown: ClusterConfig["onRedisDown"];
  readonly #clock: Clock;
  /** Slots asked for by sessions that are not playing yet: they become held when the session plays. */
  readonly #pending = new Map<string, HeldSlot>();
  readonly #held = new Map<string, HeldSlot>();
  /**
   * Playing sessions Redis may not hold: admitted on local counts after the latest re-registration took
   * its list, or admitted by a script that ran before that re-registration replaced this edge's entries
   * but answered after the list was taken. The next heartbeat re-registers them (`stale`).
   */
  readonly #unregistered = new Set<string>();
  /** Re-registrations begun and ended (each bumps it), so an admission can tell one happened meanwhile. */
  #generation = 0;
  readonly #unsubscribe: (() => void)[];
  #localAdmissions = 0;
  #refusedWhileDown = 0;

  constructor(lease: EdgeLease, keys: ClusterKeys, config: ClusterConfig, registry: SessionStore, clock: Clock, log: Logger) {
    this.#lease = lease;
    this.#keys = keys;
    this.#onRedisDown = config.onRedisDown;
    this.#clock = clock;
    this.#unsubscribe = [
      registry.subscribe(
        "playing",
        guarded(log, "cluster.listener_failed", (s) => this.#onPlaying(s)),
      ),
      registry.subscribe(
        "ended",
        guarded(log, "cluster.listener_failed", (s) => this.#onEnded(s)),
      ),
    ];
  }

  /** Sessions of this edge holding slots in Redis now. */
  get heldCount(): number {
    return this.#held.size;
  }

  /** Some playing session may be missing in Redis: the next heartbeat should re-register this edge. */
  get stale(): boolean {
    return this.#unregistered.size > 0;
  }

  /** Viewers admitted on local counts, and refused, while Redis was away. */
  counters(): { localAdmissions: number; refusedWhileDown: number } {
    return { localAdmissions: this.#localAdmissions, refusedWhileDown: this.#refusedWhileDown };
  }

  /** Takes a slot under every limit across all edges (see SharedLimits). Never waits longer than the timeout. */
  async take(session: ViewerSession, facts: SessionGrantFacts, limits: readonly LimitKey[]): Promise<SharedAdmission> {
    const slot: HeldSlot = {
      counters: limits.map((l) => this.#keys.counter(l.kind, l.value)),
      json: JSON.stringify(sharedEntryOf(session, facts, this.#clock.now())),
      generation: this.#generation,
    };
    this.#pending.set(session.id, slot);
    if (!this.#lease.up) return this.#whileDown(session.id, slot);
    try {
      let taken = await this.#takeScript(session.id, slot, limits);
      if (taken === -1) {
        await this.resync(); // this edge's own lease lapsed (Redis was slow): re-register, then try again
        taken = await this.#takeScript(session.id, slot, limits);
      }
      if (taken > 0) {
        this.#pending.delete(session.id);
        return { outcome: "refused", key: taken - 1 };
      }
      if (taken !== 0) throw new Error("this edge's lease lapsed again while re-registering");
      if (session.state === "ended") this.#release(session.id, slot); // the viewer left while Redis answered
      return { outcome: "admitted" };
    } catch (error) {
      this.#lease.markDown(error);
      return this.#whileDown(session.id, slot);
    }
  }

  /** Replaces whatever Redis holds for this edge with its live sessions and their counts (one script). */
  async resync(): Promise<void> {
    const link = this.#lease.link!;
    const nodeId = this.#lease.nodeId;
    const before = (await link.commands.call(["SMEMBERS", this.#keys.countersOf(nodeId)])) as string[];
    const counts = new Map<string, number>();
    for (const slot of this.#held.values()) for (const key of slot.counters) counts.set(key, (counts.get(key) ?? 0) + 1);
    const counterKeys = [...new Set([...before, ...counts.keys()])];
    const keys = [this.#keys.nodes, this.#keys.sessionsOf(nodeId), this.#keys.countersOf(nodeId), ...counterKeys];
    const pairs = [...counts].flatMap(([key, n]) => [String(4 + counterKeys.indexOf(key)), String(n)]);
    const sessions = [...this.#held].flatMap(([id, slot]) => [id, slot.json]);
    // The list is taken: what plays from now on without a script of its own after this one is re-registered later.
    this.#generation++;
    this.#unregistered.clear();
    try {
      await runScript(link.commands, RESYNC, keys, [nodeId, String(this.#lease.leaseMs), String(counts.size), ...pairs, ...sessions]);
    } finally {
      // A script retried after NOSCRIPT may run after admissions sent meanwhile: those are re-registered too.
      this.#generation++;
    }
  }

  /** Stops following the session store. */
  close(): void {
    for (const off of this.#unsubscribe) off();
  }

  #whileDown(id: string, slot: HeldSlot): SharedAdmission {
    if (this.#onRedisDown === "local") {
      slot.local = true;
      this.#localAdmissions++;
      return { outcome: "local" };
    }
    this.#pending.delete(id);
    this.#refusedWhileDown++;
    return { outcome: "unavailable" };
  }

  async #takeScript(id: string, slot: HeldSlot, limits: readonly LimitKey[]): Promise<number> {
    const nodeId = this.#lease.nodeId;
    const keys = [this.#keys.nodes, this.#keys.sessionsOf(nodeId), this.#keys.countersOf(nodeId), ...slot.counters];
    return Number(await runScript(this.#lease.link!.commands, TAKE, keys, [nodeId, id, slot.json, ...limits.map((l) => String(l.max))]));
  }

  #onPlaying(session: ViewerSession): void {
    const slot = this.#pending.get(session.id);
    if (slot === undefined) return;
    this.#pending.delete(session.id);
    this.#held.set(session.id, slot);
    if (slot.local === true || slot.generation !== this.#generation) this.#unregistered.add(session.id);
  }

  #onEnded(session: ViewerSession): void {
    this.#pending.delete(session.id);
    const slot = this.#held.get(session.id);
    this.#held.delete(session.id);
    // Redis may not count it: giving back a slot it never took would undercount the limits.
    if (this.#unregistered.delete(session.id)) return;
    if (slot !== undefined) this.#release(session.id, slot);
  }

  /** Gives a session's slots back; while Redis is away there is nothing to do (the resync on return drops it). */
  #release(id: string, slot: HeldSlot): void {
    const link = this.#lease.link;
    if (!this.#lease.up || link === undefined) return;
    const keys = [this.#keys.sessionsOf(this.#lease.nodeId), ...slot.counters];
    runScript(link.commands, RELEASE, keys, [this.#lease.nodeId, id]).catch((error: unknown) => this.#lease.markDown(error));
  }
}
