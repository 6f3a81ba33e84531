import type { Clock } from "../core/clock.js";
import { REVOCATION_KINDS, type EdgeCommand, type LimitKey, type SharedAdmission, type SharedLimits, type SharedSessionSnapshot } from "../core/cluster-seams.js";
import { guarded } from "../core/guarded.js";
import type { Logger } from "../core/log.js";
import type { SessionGrantFacts, SessionStore } from "../core/session-store.js";
import { snapshotOf, type ViewerSession } from "../core/viewer-session.js";
import type { ClusterConfig } from "../config/cluster-schema.js";
import { applyEdgeCommand, type EdgeCommandTargets } from "../sessions/edge-commands.js";
import { ClusterKeys } from "./cluster-keys.js";
import { HEARTBEAT, LIVE_NODES, PUBLISH, RELEASE, RESTORE_REVOKED, RESYNC, TAKE, runScript } from "./cluster-scripts.js";
import { openRedisLink, type RedisLink } from "./redis-link.js";
import { credentialKeysOfEntry, parseEdgeCommand, parseSharedSession, sharedEntryOf } from "./shared-entries.js";

/** A lease lasts this many heartbeats: an edge that stops beating drops out after at most that many. */
export const LEASE_HEARTBEATS = 3;
/** Commands kept in the stream for edges that come back (older ones are trimmed; revocations stay in their hash). */
const STREAM_LENGTH = 10_000;
/** Commands made while Redis was away, kept to publish when it is back. */
const MAX_QUEUED_COMMANDS = 10_000;
/** An edge whose lease lapsed this long ago is forgotten (its session list deleted). */
const FORGET_AFTER_MS = 60_000;

/** A session of this edge as Redis knows it: the counter keys it holds and its JSON. */
interface HeldSlot {
  counters: string[];
  json: string;
}

/** What the edge's cluster link reports (API and /metrics). */
export interface ClusterStatus {
  node: string;
  redis: "up" | "down";
  onRedisDown: "local" | "deny";
  /** Viewers admitted on local counts, and refused, while Redis was away. */
  localAdmissions: number;
  refusedWhileDown: number;
}

export interface EdgeClusterDeps {
  registry: SessionStore;
  commandTargets: EdgeCommandTargets;
  clock: Clock;
  log: Logger;
  /** This edge's statistics totals, republished to Redis for the merged view (undefined: none). */
  statsTotals?: () => unknown;
  /** Opens the Redis connections; tests and benches may pass their own. Default: node-redis. */
  openLink?: (url: string, timeoutMs: number, log: Logger) => Promise<RedisLink>;
}

/**
 * EdgeCluster joins this edge to the others through one Redis (docs/scaling.md). The local session
 * store stays the owner of this edge's connections; EdgeCluster mirrors its playing sessions into Redis,
 * takes limit slots for newcomers atomically across every edge (one Lua script), renews the edge's lease
 * each heartbeat so a crashed edge's sessions lapse by themselves, and reads every edge's commands
 * (close, revoke, lift) from a Redis stream from where it left off, so an edge that was cut off catches
 * up when it is back.
 *
 * Redis away or slow: nothing waits longer than `timeoutMs`; newcomers are counted here alone
 * (`onRedisDown: local`) or refused (`deny`); live viewers are untouched. The heartbeat keeps probing,
 * and when Redis answers again the edge re-registers every live session and publishes what it queued.
 */
export class EdgeCluster implements SharedLimits {
  readonly #config: ClusterConfig;
  readonly #keys: ClusterKeys;
  readonly #deps: EdgeClusterDeps;
  readonly #log: Logger;
  readonly #leaseMs: number;
  /** Slots asked for by sessions that are not playing yet: they become held when the session plays. */
  readonly #pending = new Map<string, HeldSlot>();
  readonly #held = new Map<string, HeldSlot>();
  readonly #queued: EdgeCommand[] = [];
  readonly #unsubscribe: (() => void)[] = [];
  #link: RedisLink | undefined;
  #up = false;
  #closed = false;
  #beating: Promise<void> | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #beats = 0;
  #lastSeenId: string | undefined;
  #reader: Promise<void> | undefined;
  #localAdmissions = 0;
  #refusedWhileDown = 0;

  constructor(config: ClusterConfig, deps: EdgeClusterDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#log = deps.log;
    this.#keys = new ClusterKeys(config.keyPrefix);
    this.#leaseMs = LEASE_HEARTBEATS * config.heartbeatMs;
    this.#unsubscribe.push(
      deps.registry.subscribe("playing", guarded(this.#log, "cluster.listener_failed", (s) => this.#onPlaying(s))),
      deps.registry.subscribe("ended", guarded(this.#log, "cluster.listener_failed", (s) => this.#onEnded(s))),
    );
  }

  get nodeId(): string {
    return this.#config.nodeId;
  }

  /** How long a crashed edge's sessions stay listed and counted at most, ms. */
  get leaseMs(): number {
    return this.#leaseMs;
  }

  status(): ClusterStatus {
    return {
      node: this.#config.nodeId, redis: this.#up ? "up" : "down", onRedisDown: this.#config.onRedisDown,
      localAdmissions: this.#localAdmissions, refusedWhileDown: this.#refusedWhileDown,
    };
  }

  /**
   * Connects and registers this edge; resolves once Redis answered or, at the latest, after a few
   * tries (the edge then starts on its onRedisDown policy and keeps trying every heartbeat).
   */
  async start(): Promise<void> {
    const open = this.#deps.openLink ?? openRedisLink;
    this.#link = await open(this.#config.redis, this.#config.timeoutMs, this.#log);
    const deadline = Date.now() + Math.max(2000, 4 * this.#config.timeoutMs);
    while (!this.#up && !this.#closed && Date.now() < deadline) {
      await this.#beat();
      if (!this.#up) await sleep(50);
    }
    if (!this.#up) this.#log.error({ event: "cluster.redis_down", node: this.nodeId, policy: this.#config.onRedisDown }, `Redis unreachable at start; new viewers: ${this.#policyText()}`);
    this.#heartbeat = setInterval(() => void this.#beat(), this.#config.heartbeatMs);
    this.#heartbeat.unref();
    this.#reader = this.#readCommands();
  }

  /** Takes a slot under every limit across all edges (see SharedLimits). Never waits longer than the timeout. */
  async take(session: ViewerSession, facts: SessionGrantFacts, limits: readonly LimitKey[]): Promise<SharedAdmission> {
    const slot: HeldSlot = {
      counters: limits.map((l) => this.#keys.counter(l.kind, l.value)),
      json: JSON.stringify(sharedEntryOf(session, facts, this.#deps.clock.now())),
    };
    this.#pending.set(session.id, slot);
    if (!this.#up) return this.#whileDown(session.id);
    try {
      let taken = await this.#takeScript(session.id, slot, limits);
      if (taken === -1) {
        await this.#resync(); // this edge's own lease lapsed (Redis was slow): re-register, then try again
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
      this.#markDown(error);
      return this.#whileDown(session.id);
    }
  }

  /** Every edge's live sessions (this edge's read locally, so its bytes are current), or undefined while Redis is away. */
  async sessions(): Promise<SharedSessionSnapshot[] | undefined> {
    if (!this.#up || this.#link === undefined) return undefined;
    const now = this.#deps.clock.now();
    const local = this.#deps.registry.list().map((s) => ({ ...snapshotOf(s, now), node: this.nodeId }));
    try {
      const nodes = (await runScript(this.#link.commands, LIVE_NODES, [this.#keys.nodes], [])) as string[];
      const others = nodes.filter((n) => n !== this.nodeId);
      const lists = await Promise.all(others.map((n) => this.#link!.commands.call(["HVALS", this.#keys.sessionsOf(n)]) as Promise<string[]>));
      const remote = lists.flatMap((values, i) => values.map((json) => parseSharedSession(json, others[i]!)).filter((s) => s !== undefined));
      return [...local, ...remote].sort((a, b) => a.startedAt - b.startedAt);
    } catch (error) {
      this.#markDown(error);
      return undefined;
    }
  }

  /** The credential keys of other edges' sessions, by session id (a credential revocation names the sessions it closes). */
  async tokenDigests(): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (!this.#up || this.#link === undefined) return out;
    try {
      const nodes = ((await runScript(this.#link.commands, LIVE_NODES, [this.#keys.nodes], [])) as string[]).filter((n) => n !== this.nodeId);
      for (const node of nodes) {
        for (const json of (await this.#link.commands.call(["HVALS", this.#keys.sessionsOf(node)])) as string[]) {
          const entry = credentialKeysOfEntry(json);
          if (entry !== undefined) out.set(entry.id, entry.keys);
        }
      }
    } catch (error) {
      this.#markDown(error);
    }
    return out;
  }

  /** Sends a command (already applied here) to every other edge; queued while Redis is away. */
  async publish(command: EdgeCommand): Promise<void> {
    if (this.#up) {
      try {
        await this.#publishNow(command);
        return;
      } catch (error) {
        this.#markDown(error);
      }
    }
    if (this.#queued.length >= MAX_QUEUED_COMMANDS) this.#queued.shift();
    this.#queued.push(command);
    this.#log.warn({ event: "cluster.command_queued", op: command.op, queued: this.#queued.length }, "Redis unreachable: command applied on this edge, queued for the others");
  }

  /** Statistics totals every live edge published, by edge. */
  async statsByNode(): Promise<Record<string, unknown> | undefined> {
    if (!this.#up || this.#link === undefined) return undefined;
    try {
      const nodes = new Set((await runScript(this.#link.commands, LIVE_NODES, [this.#keys.nodes], [])) as string[]);
      const out: Record<string, unknown> = {};
      for (const [node, json] of pairsOf(await this.#link.commands.call(["HGETALL", this.#keys.stats]))) if (nodes.has(node)) out[node] = JSON.parse(json);
      return out;
    } catch (error) {
      this.#markDown(error);
      return undefined;
    }
  }

  /** Stops the heartbeat and the reader and closes the connections. This edge's sessions lapse with its lease. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const off of this.#unsubscribe) off();
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    await this.#beating;
    const link = this.#link;
    if (link !== undefined) {
      if (this.#up) await link.commands.call(["ZREM", this.#keys.nodes, this.nodeId]).catch(() => undefined);
      await link.commands.close();
      await link.reader.close();
    }
    await this.#reader;
  }

  #whileDown(id: string): SharedAdmission {
    if (this.#config.onRedisDown === "local") {
      this.#localAdmissions++;
      return { outcome: "local" };
    }
    this.#pending.delete(id);
    this.#refusedWhileDown++;
    return { outcome: "unavailable" };
  }

  async #takeScript(id: string, slot: HeldSlot, limits: readonly LimitKey[]): Promise<number> {
    const keys = [this.#keys.nodes, this.#keys.sessionsOf(this.nodeId), this.#keys.countersOf(this.nodeId), ...slot.counters];
    return Number(await runScript(this.#link!.commands, TAKE, keys, [this.nodeId, id, slot.json, ...limits.map((l) => String(l.max))]));
  }

  #onPlaying(session: ViewerSession): void {
    const slot = this.#pending.get(session.id);
    if (slot === undefined) return;
    this.#pending.delete(session.id);
    this.#held.set(session.id, slot);
  }

  #onEnded(session: ViewerSession): void {
    this.#pending.delete(session.id);
    const slot = this.#held.get(session.id);
    this.#held.delete(session.id);
    if (slot !== undefined) this.#release(session.id, slot);
  }

  /** Gives a session's slots back; while Redis is away there is nothing to do (the resync on return drops it). */
  #release(id: string, slot: HeldSlot): void {
    if (!this.#up || this.#link === undefined) return;
    const keys = [this.#keys.sessionsOf(this.nodeId), ...slot.counters];
    runScript(this.#link.commands, RELEASE, keys, [this.nodeId, id]).catch((error: unknown) => this.#markDown(error));
  }

  /** One heartbeat: renew the lease; after an outage (or a lapsed lease) re-register everything first. */
  #beat(): Promise<void> {
    if (this.#beating !== undefined || this.#link === undefined || this.#closed) return this.#beating ?? Promise.resolve();
    this.#beating = (async () => {
      try {
        const [live] = (await runScript(this.#link!.commands, HEARTBEAT, [this.#keys.nodes], [this.nodeId, String(this.#leaseMs)])) as [number, number];
        if (!this.#up || Number(live) !== 1) await this.#recover();
        if (++this.#beats % 5 === 0) await this.#upkeep();
      } catch (error) {
        this.#markDown(error);
      } finally {
        this.#beating = undefined;
      }
    })();
    return this.#beating;
  }

  /** Redis answers again: re-register this edge's sessions, put back lost revocations, publish what was queued. */
  async #recover(): Promise<void> {
    await this.#resync();
    const revoked = this.#deps.commandTargets.revocations.list();
    if (revoked.length > 0) {
      await runScript(this.#link!.commands, RESTORE_REVOKED, [this.#keys.revoked], revoked.flatMap((r) => [`${r.kind}:${r.key}`, String(r.untilMs)]));
    }
    while (this.#queued.length > 0) {
      await this.#publishNow(this.#queued[0]!);
      this.#queued.shift();
    }
    if (!this.#up) {
      this.#up = true;
      this.#log.warn({ event: "cluster.redis_up", node: this.nodeId, sessions: this.#held.size }, "Redis reachable; this edge's sessions re-registered");
    }
  }

  /** Replaces whatever Redis holds for this edge with its live sessions and their counts (one script). */
  async #resync(): Promise<void> {
    const link = this.#link!;
    const before = (await link.commands.call(["SMEMBERS", this.#keys.countersOf(this.nodeId)])) as string[];
    const counts = new Map<string, number>();
    for (const slot of this.#held.values()) for (const key of slot.counters) counts.set(key, (counts.get(key) ?? 0) + 1);
    const counterKeys = [...new Set([...before, ...counts.keys()])];
    const keys = [this.#keys.nodes, this.#keys.sessionsOf(this.nodeId), this.#keys.countersOf(this.nodeId), ...counterKeys];
    const pairs = [...counts].flatMap(([key, n]) => [String(4 + counterKeys.indexOf(key)), String(n)]);
    const sessions = [...this.#held].flatMap(([id, slot]) => [id, slot.json]);
    await runScript(link.commands, RESYNC, keys, [this.nodeId, String(this.#leaseMs), String(counts.size), ...pairs, ...sessions]);
  }

  /** Every few beats: publish this edge's statistics totals, and forget edges gone for a minute. */
  async #upkeep(): Promise<void> {
    const link = this.#link!;
    const totals = this.#deps.statsTotals?.();
    if (totals !== undefined) await link.commands.call(["HSET", this.#keys.stats, this.nodeId, JSON.stringify(totals)]);
    // A second renewal, for Redis's clock: "gone a minute" is measured on the clock the leases use.
    const [, redisNow] = (await runScript(link.commands, HEARTBEAT, [this.#keys.nodes], [this.nodeId, String(this.#leaseMs)])) as [number, number];
    const gone = (await link.commands.call(["ZRANGEBYSCORE", this.#keys.nodes, "-inf", String(Number(redisNow) - FORGET_AFTER_MS)])) as string[];
    for (const node of gone) {
      await link.commands.call(["DEL", this.#keys.sessionsOf(node)]);
      await link.commands.call(["ZREM", this.#keys.nodes, node]);
      await link.commands.call(["HDEL", this.#keys.stats, node]);
    }
  }

  async #publishNow(command: EdgeCommand): Promise<void> {
    const field = command.op === "revoke" || command.op === "lift" ? `${command.kind}:${command.key}` : "";
    const until = command.op === "revoke" ? String(command.untilMs) : "0";
    await runScript(this.#link!.commands, PUBLISH, [this.#keys.commands, this.#keys.revoked], [JSON.stringify(command), command.op, field, until, this.nodeId, String(STREAM_LENGTH)]);
  }

  /**
   * Reads every edge's commands from the stream, blocking on its own connection, from the last id seen.
   * After any failure it catches up first: the revocations in force (the hash), then the stream from
   * where it stopped, so a command made while this edge was cut off still reaches it.
   */
  async #readCommands(): Promise<void> {
    const reader = this.#link!.reader;
    const blockMs = 2000;
    let catchUp = true;
    while (!this.#closed) {
      try {
        if (catchUp) {
          await this.#catchUp();
          catchUp = false;
        }
        const reply = await reader.call(["XREAD", "COUNT", "1000", "BLOCK", String(blockMs), "STREAMS", this.#keys.commands, this.#lastSeenId!], blockMs + this.#config.timeoutMs);
        for (const [, entries] of pairsOf<StreamEntry[]>(reply)) for (const [id, fields] of entries) this.#applyEntry(id, fields);
      } catch (error) {
        if (this.#closed) return;
        catchUp = true;
        await sleep(Math.min(this.#config.heartbeatMs, 500));
      }
    }
  }

  async #catchUp(): Promise<void> {
    const reader = this.#link!.reader;
    if (this.#lastSeenId === undefined) {
      const last = (await reader.call(["XREVRANGE", this.#keys.commands, "+", "-", "COUNT", "1"])) as [string, string[]][];
      this.#lastSeenId = last[0]?.[0] ?? "0-0";
    }
    // Revocations in force that this edge does not know yet are applied like the command that made them,
    // so they close sessions too: this holds even when the command itself was trimmed from the stream.
    const known = new Set(this.#deps.commandTargets.revocations.list().map((r) => `${r.kind}:${r.key}`));
    for (const [field, until] of pairsOf(await reader.call(["HGETALL", this.#keys.revoked]))) {
      const colon = field.indexOf(":");
      const kind = REVOCATION_KINDS.find((k) => k === field.slice(0, colon));
      const untilMs = Number(until);
      if (kind === undefined || known.has(field) || !(untilMs > this.#deps.clock.now())) continue;
      applyEdgeCommand(this.#deps.commandTargets, { op: "revoke", kind, key: field.slice(colon + 1), untilMs });
    }
  }

  #applyEntry(id: string, fields: string[]): void {
    this.#lastSeenId = id;
    const from = fields[fields.indexOf("from") + 1];
    const command = parseEdgeCommand(fields[fields.indexOf("c") + 1]);
    if (from === this.nodeId || command === undefined) return;
    const closed = applyEdgeCommand(this.#deps.commandTargets, command);
    this.#log.info({ event: "cluster.command_applied", op: command.op, from, closed: closed.length }, "command from another edge applied");
  }

  #markDown(error: unknown): void {
    if (!this.#up) return;
    this.#up = false;
    this.#log.error(
      { event: "cluster.redis_down", node: this.nodeId, policy: this.#config.onRedisDown, err: { name: (error as Error).name, message: (error as Error).message } },
      `Redis unreachable; new viewers: ${this.#policyText()} until it is back`,
    );
  }

  #policyText(): string {
    return this.#config.onRedisDown === "local" ? "limits counted on this edge alone" : "refused";
  }
}

type StreamEntry = [string, string[]];

/**
 * The key/value pairs of a map reply: node-redis gives a RESP3 map (HGETALL, XREAD) as an object,
 * a RESP2 one as a flat array or an array of pairs; nil is no pairs.
 */
function pairsOf<V = string>(reply: unknown): [string, V][] {
  if (reply === null || reply === undefined) return [];
  if (!Array.isArray(reply)) return Object.entries(reply as Record<string, V>);
  if (reply.every((item) => Array.isArray(item) && item.length === 2)) return reply as [string, V][];
  const out: [string, V][] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) out.push([String(reply[i]), reply[i + 1] as V]);
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
