/**
 * The Redis keys of one deployment (docs/scaling.md). Every key a multi-key script touches starts with
 * the hash tag `{prefix}`, so on Redis Cluster they live in one slot and a Lua script may touch any of
 * them. A link's use counter is the one key no script shares with another: it carries its own tag, so
 * those counters spread over the shards.
 */
export class ClusterKeys {
  readonly #prefix: string;
  readonly #p: string;

  constructor(prefix: string) {
    this.#prefix = prefix;
    this.#p = `{${prefix}}`;
  }

  /** ZSET: edge id → lease end (ms, Redis clock). An edge is live while its lease has not lapsed. */
  get nodes(): string {
    return `${this.#p}:nodes`;
  }

  /** HASH: session id → the session's JSON, for the sessions of one edge. */
  sessionsOf(node: string): string {
    return `${this.#p}:sessions:${node}`;
  }

  /** SET: the counter keys an edge has written, so a resync can clear its old counts. */
  countersOf(node: string): string {
    return `${this.#p}:counters:${node}`;
  }

  /** HASH: edge id → playing sessions under one limit key (a user, an address, a channel). */
  counter(kind: "user" | "ip" | "channel", value: string): string {
    return `${this.#p}:count:${kind}:${value}`;
  }

  /** STREAM: every edge command (close, revoke, lift), read by every edge from where it left off. */
  get commands(): string {
    return `${this.#p}:commands`;
  }

  /** HASH: `kind:key` → end of a revocation in force (ms since the epoch). */
  get revoked(): string {
    return `${this.#p}:revoked`;
  }

  /**
   * STRING: the sessions one signed link with `maxUses` started, for every edge; it expires at the
   * link's end. `key` is the link's credential key (`credentialKey`). Its own hash tag: the scripts on
   * it (TAKE_USE, GIVE_BACK_USE) touch it alone, so on Redis Cluster each link may sit on any shard.
   */
  uses(key: string): string {
    return `{${this.#prefix}:uses:${key}}`;
  }

  /** HASH: edge id → its statistics totals (JSON), republished every few heartbeats. */
  get stats(): string {
    return `${this.#p}:stats`;
  }
}
