import type { Clock } from "../core/clock.js";
import type { CoveredSession, SharedSessionSnapshot } from "../core/cluster-seams.js";
import type { SessionStore } from "../core/session-store.js";
import { snapshotOf } from "../core/viewer-session.js";
import type { ClusterKeys } from "./cluster-keys.js";
import { LIVE_NODES, runScript } from "./cluster-scripts.js";
import type { EdgeLease } from "./edge-lease.js";
import { pairsOf } from "./redis-replies.js";
import { credentialKeysOfEntry, parseSharedSession } from "./shared-entries.js";

/** One entry of another edge's session list, with its credentials' keys; nothing for an entry that is not one. */
function coveredSessionOf(json: string, node: string): CoveredSession[] {
  const session = parseSharedSession(json, node);
  if (session === undefined) return [];
  return [{ ...session, credentialKeys: credentialKeysOfEntry(json)?.keys ?? [] }];
}

/**
 * ClusterViews reads what every live edge published, for the API and the console: the sessions of all
 * edges (this edge's read locally, so its bytes are current), the others' sessions with their credentials'
 * keys just before a command (a revocation names the sessions it closes), and each edge's statistics totals. Read only:
 * while Redis is away each view answers undefined (or nothing) at once.
 */
export class ClusterViews {
  readonly #lease: EdgeLease;
  readonly #keys: ClusterKeys;
  readonly #registry: SessionStore;
  readonly #clock: Clock;

  constructor(lease: EdgeLease, keys: ClusterKeys, registry: SessionStore, clock: Clock) {
    this.#lease = lease;
    this.#keys = keys;
    this.#registry = registry;
    this.#clock = clock;
  }

  /** Every edge's live sessions (this edge's read locally, so its bytes are current), or undefined while Redis is away. */
  async sessions(): Promise<SharedSessionSnapshot[] | undefined> {
    const link = this.#lease.link;
    if (!this.#lease.up || link === undefined) return undefined;
    const nodeId = this.#lease.nodeId;
    const now = this.#clock.now();
    const local = this.#registry.list().map((s) => ({ ...snapshotOf(s, now), node: nodeId }));
    try {
      const { others, lists: reading } = await this.#readOtherLists(link);
      const lists = await reading;
      const remote = lists.flatMap((values, i) =>
        values.map((json) => parseSharedSession(json, others[i]!)).filter((s) => s !== undefined),
      );
      return [...local, ...remote].sort((a, b) => a.startedAt - b.startedAt);
    } catch (error) {
      this.#lease.markDown(error);
      return undefined;
    }
  }

  /**
   * The other live edges' sessions with their credentials' keys, and `then` (a publish) sent right behind
   * the reads on the same connection, before their answers come: Redis runs the reads first, so they show
   * what was there just before, and `then` waits for no answer. While Redis is away: `then` alone, undefined.
   */
  async othersThen(then: () => Promise<void>): Promise<CoveredSession[] | undefined> {
    const link = this.#lease.link;
    if (!this.#lease.up || link === undefined) {
      await then();
      return undefined;
    }
    let reads: Promise<string[][]>;
    let others: string[];
    try {
      ({ others, lists: reads } = await this.#readOtherLists(link));
    } catch (error) {
      this.#lease.markDown(error);
      await then();
      return undefined;
    }
    // Sent now, in this tick: behind the reads on the wire.
    const sent = then();
    let lists: string[][];
    try {
      lists = await reads;
    } catch (error) {
      this.#lease.markDown(error);
      await sent;
      return undefined;
    }
    await sent;
    return lists.flatMap((values, i) => values.flatMap((json) => coveredSessionOf(json, others[i]!)));
  }

  /**
   * The other live edges (one script) and the reads of their session lists, sent now (one `HVALS` each,
   * pipelined on the connection), not yet answered.
   */
  async #readOtherLists(link: NonNullable<EdgeLease["link"]>): Promise<{ others: string[]; lists: Promise<string[][]> }> {
    const nodes = (await runScript(link.commands, LIVE_NODES, [this.#keys.nodes], [])) as string[];
    const others = nodes.filter((n) => n !== this.#lease.nodeId);
    const lists = Promise.all(others.map((n) => link.commands.call(["HVALS", this.#keys.sessionsOf(n)]) as Promise<string[]>));
    return { others, lists };
  }

  /** Every live edge and how many sessions it shares (one HLEN each, no session read), or undefined while Redis is away. */
  async edges(): Promise<{ node: string; sessions: number }[] | undefined> {
    const link = this.#lease.link;
    if (!this.#lease.up || link === undefined) return undefined;
    try {
      const nodes = ((await runScript(link.commands, LIVE_NODES, [this.#keys.nodes], [])) as string[]).sort();
      const counts = await Promise.all(nodes.map((n) => link.commands.call(["HLEN", this.#keys.sessionsOf(n)]) as Promise<number>));
      return nodes.map((node, i) => ({ node, sessions: Number(counts[i]) }));
    } catch (error) {
      this.#lease.markDown(error);
      return undefined;
    }
  }

  /** Statistics totals every live edge published, by edge. */
  async statsByNode(): Promise<Record<string, unknown> | undefined> {
    const link = this.#lease.link;
    if (!this.#lease.up || link === undefined) return undefined;
    try {
      const nodes = new Set((await runScript(link.commands, LIVE_NODES, [this.#keys.nodes], [])) as string[]);
      const out: Record<string, unknown> = {};
      for (const [node, json] of pairsOf(await link.commands.call(["HGETALL", this.#keys.stats])))
        if (nodes.has(node)) out[node] = JSON.parse(json);
      return out;
    } catch (error) {
      this.#lease.markDown(error);
      return undefined;
    }
  }
}
