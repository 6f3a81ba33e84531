import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { Clock } from "../core/clock.js";

/** Where a resolved value came from. */
export type VerdictSource = "backend" | "shared" | "cache";

/**
 * Bytes counted per cached entry on top of its key and value text: the LRU's own slots (key, value,
 * TTL, start, links, size) and the objects around the value. An estimate on the high side, so the byte
 * bound holds for real memory too.
 */
export const CACHE_ENTRY_OVERHEAD_BYTES = 512;

/** Bounds and upkeep of a VerdictCache besides its entry count. */
export interface VerdictCacheOptions {
  /** Bytes the cached entries may take together (see CACHE_ENTRY_OVERHEAD_BYTES); least recently used go first. Default: no byte bound. */
  readonly maxBytes?: number;
  /** How often expired entries (denies included) are dropped without being touched, ms; 0 (default) = no timer. The timer runs from `start` to `close`. */
  readonly purgeIntervalMs?: number;
}

/**
 * VerdictCache keeps backend verdicts by key for a per-entry TTL (bounded LRU, times from the injected
 * clock) and coalesces concurrent misses: while one call for a key is in flight, every other caller
 * with that key awaits the same promise, so 1,000 viewers joining at once cost one backend call.
 * A value whose TTL is 0 is shared with the callers already waiting but not cached.
 *
 * Keys hold viewer-chosen text (query, User-Agent), so they are kept only as their SHA-256 digest: an
 * entry's key is 43 characters whatever the viewer sent. The cache is bounded by entries and, with
 * `maxBytes`, by bytes; with `purgeIntervalMs` a timer (from `start`) drops expired entries, so memory taken by a flood
 * of one-off denies comes back without anyone asking for them again.
 *
 * @example
 * const cache = new VerdictCache<Outcome>(10_000, systemClock, { maxBytes: 32 * 1024 * 1024, purgeIntervalMs: 10_000 });
 * cache.start();
 * const { value, source } = await cache.resolve(protocol.keyOf(request), () => ask(request), ttlMsOf);
 * cache.close();
 */
export class VerdictCache<V extends object> {
  readonly #lru: LRUCache<string, V>;
  readonly #inFlight = new Map<string, Promise<V>>();
  readonly #purgeIntervalMs: number;
  #purgeTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Lookups since start: served from cache, sent to the backend, or joined to a call in flight. */
  readonly counters = { hits: 0, misses: 0, coalesced: 0 };

  constructor(maxEntries: number, clock: Clock, options: VerdictCacheOptions = {}) {
    const { maxBytes, purgeIntervalMs = 0 } = options;
    this.#lru = new LRUCache<string, V>({
      max: maxEntries,
      perf: clock,
      ttlAutopurge: false,
      ttlResolution: 0,
      ...(maxBytes !== undefined ? { maxSize: maxBytes, sizeCalculation: entryBytes } : {}),
    });
    this.#purgeIntervalMs = purgeIntervalMs;
  }

  /** Starts the purge timer of `purgeIntervalMs` (none without it). Once; nothing after `close`. */
  start(): void {
    if (this.#purgeIntervalMs <= 0 || this.#purgeTimer !== undefined || this.#closed) return;
    this.#purgeTimer = setInterval(() => this.purgeExpired(), this.#purgeIntervalMs);
    this.#purgeTimer.unref();
  }

  /** The cached value for `key`, or the in-flight call's, or `load()`'s, cached for `ttlMsOf(value)` ms. */
  async resolve(key: string, load: () => Promise<V>, ttlMsOf: (value: V) => number): Promise<{ value: V; source: VerdictSource }> {
    const digest = digestOf(key);
    const cached = this.#lru.get(digest);
    if (cached !== undefined) {
      this.counters.hits++;
      return { value: cached, source: "cache" };
    }
    const pending = this.#inFlight.get(digest);
    if (pending !== undefined) {
      this.counters.coalesced++;
      return { value: await pending, source: "shared" };
    }
    this.counters.misses++;
    const call = load();
    this.#inFlight.set(digest, call);
    try {
      const value = await call;
      const ttlMs = ttlMsOf(value);
      if (ttlMs > 0) this.#lru.set(digest, value, { ttl: ttlMs });
      return { value, source: "backend" };
    } finally {
      this.#inFlight.delete(digest);
    }
  }

  /**
   * The cached value for `key`, if any, without counting a lookup or refreshing its place in the LRU:
   * what an explain reads, so that reading changes nothing.
   */
  peek(key: string): V | undefined {
    return this.#lru.peek(digestOf(key));
  }

  /** Drops every expired entry now; true when any was dropped. The purge timer calls it. */
  purgeExpired(): boolean {
    return this.#lru.purgeStale();
  }

  /** Entries cached now (expired ones count until touched or purged). */
  get size(): number {
    return this.#lru.size;
  }

  /** Bytes the cached entries take, as counted against `maxBytes` (0 without a byte bound). */
  get bytes(): number {
    return this.#lru.calculatedSize;
  }

  /** Drops every cached value (calls in flight still finish and are shared with their waiters). */
  clear(): void {
    this.#lru.clear();
  }

  /** Stops the purge timer and empties the cache. */
  close(): void {
    this.#closed = true;
    if (this.#purgeTimer !== undefined) clearInterval(this.#purgeTimer);
    this.#purgeTimer = undefined;
    this.#lru.clear();
  }
}

/** A fixed-size stand-in for a key: base64url SHA-256, 43 characters. */
function digestOf(key: string): string {
  return createHash("sha256").update(key).digest("base64url");
}

/** What an entry is counted as: its key and value as UTF-16 text plus the fixed overhead. */
function entryBytes(value: object, key: string): number {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    // A value JSON cannot express (a cycle): counted by its overhead only.
  }
  return CACHE_ENTRY_OVERHEAD_BYTES + 2 * key.length + 2 * (text?.length ?? 0);
}
