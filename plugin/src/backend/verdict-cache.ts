import { LRUCache } from "lru-cache";
import type { Clock } from "../clock.js";

/** Where a resolved value came from. */
export type VerdictSource = "backend" | "shared" | "cache";

/**
 * VerdictCache keeps backend verdicts by key for a per-entry TTL (bounded LRU, times from the injected
 * clock) and coalesces concurrent misses: while one call for a key is in flight, every other caller
 * with that key awaits the same promise, so 1,000 viewers joining at once cost one backend call.
 * A value whose TTL is 0 is shared with the callers already waiting but not cached.
 */
export class VerdictCache<V extends object> {
  readonly #lru: LRUCache<string, V>;
  readonly #inFlight = new Map<string, Promise<V>>();
  /** Lookups since start: served from cache, sent to the backend, or joined to a call in flight. */
  readonly counters = { hits: 0, misses: 0, coalesced: 0 };

  constructor(maxEntries: number, clock: Clock) {
    this.#lru = new LRUCache<string, V>({ max: maxEntries, perf: clock, ttlAutopurge: false, ttlResolution: 0 });
  }

  /** The cached value for `key`, or the in-flight call's, or `load()`'s, cached for `ttlMsOf(value)` ms. */
  async resolve(key: string, load: () => Promise<V>, ttlMsOf: (value: V) => number): Promise<{ value: V; source: VerdictSource }> {
    const cached = this.#lru.get(key);
    if (cached !== undefined) {
      this.counters.hits++;
      return { value: cached, source: "cache" };
    }
    const pending = this.#inFlight.get(key);
    if (pending !== undefined) {
      this.counters.coalesced++;
      return { value: await pending, source: "shared" };
    }
    this.counters.misses++;
    const call = load();
    this.#inFlight.set(key, call);
    try {
      const value = await call;
      const ttlMs = ttlMsOf(value);
      if (ttlMs > 0) this.#lru.set(key, value, { ttl: ttlMs });
      return { value, source: "backend" };
    } finally {
      this.#inFlight.delete(key);
    }
  }

  /** Entries cached now (expired ones may still count until touched). */
  get size(): number {
    return this.#lru.size;
  }

  clear(): void {
    this.#lru.clear();
  }
}
