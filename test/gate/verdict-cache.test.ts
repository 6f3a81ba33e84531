import { expect } from "chai";
import v8 from "node:v8";
import vm from "node:vm";
import { CACHE_ENTRY_OVERHEAD_BYTES, VerdictCache } from "../../plugin/src/backend/verdict-cache.js";
import { waitFor } from "../helpers/wait-for.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { sleep } from "../helpers/sleep.js";

/** The garbage collector, when this process can get it (node --expose-gc, or switched on at run time). */
function obtainGc(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed !== undefined) return exposed;
  try {
    v8.setFlagsFromString("--expose-gc");
    return vm.runInNewContext("gc") as () => void;
  } catch {
    return undefined;
  }
}

describe("VerdictCache", () => {
  const ttl = (v: { ttlMs: number }) => v.ttlMs;

  it("coalesces concurrent misses into one load, then serves the cache until the TTL passes", async () => {
    const clock = new ManualClock();
    const cache = new VerdictCache<{ ttlMs: number; n: number }>(10, clock);
    let loads = 0;
    const load = async () => {
      loads++;
      await sleep(20);
      return { ttlMs: 1000, n: loads };
    };
    const results = await Promise.all(Array.from({ length: 50 }, () => cache.resolve("k", load, ttl)));
    expect(loads).to.equal(1);
    expect(results.map((r) => r.source).filter((s) => s === "backend")).to.have.length(1);
    expect(results.map((r) => r.source).filter((s) => s === "shared")).to.have.length(49);
    expect((await cache.resolve("k", load, ttl)).source).to.equal("cache");
    clock.advance(1001);
    expect(await cache.resolve("k", load, ttl)).to.deep.equal({ value: { ttlMs: 1000, n: 2 }, source: "backend" });
  });

  it("shares but never caches a value whose TTL is 0, and keys never mix", async () => {
    const cache = new VerdictCache<{ ttlMs: number }>(10, new ManualClock());
    let loads = 0;
    const load = async () => (loads++, { ttlMs: 0 });
    await cache.resolve("a", load, ttl);
    await cache.resolve("a", load, ttl);
    await cache.resolve("b", async () => (loads++, { ttlMs: 5000 }), ttl);
    expect(loads).to.equal(3);
    expect(cache.size).to.equal(1);
  });

  it("a failed load rejects every waiting caller and leaves nothing behind", async () => {
    const cache = new VerdictCache<{ ttlMs: number }>(10, new ManualClock());
    const failing = async () => {
      await sleep(10);
      throw new Error("boom");
    };
    const settled = await Promise.allSettled([cache.resolve("k", failing, ttl), cache.resolve("k", failing, ttl)]);
    expect(settled.map((s) => s.status)).to.deep.equal(["rejected", "rejected"]);
    expect((await cache.resolve("k", async () => ({ ttlMs: 1 }), ttl)).source).to.equal("backend");
  });

  it("keeps at most maxEntries, dropping the least recently used", async () => {
    const cache = new VerdictCache<{ ttlMs: number }>(2, new ManualClock());
    for (const key of ["a", "b", "c"]) await cache.resolve(key, async () => ({ ttlMs: 10_000 }), ttl);
    expect(cache.size).to.equal(2);
    expect((await cache.resolve("a", async () => ({ ttlMs: 10_000 }), ttl)).source).to.equal("backend");
  });

  describe("bounds", () => {
    const MiB = 1024 * 1024;
    const load =
      (ttlMs: number, payload = "") =>
      async () => ({ ttlMs, reason: `backend answered 403${payload}` });

    it("keeps keys only as fixed-size digests: a 1 MiB key costs what a short one does, and still hits", async () => {
      const cache = new VerdictCache<{ ttlMs: number; reason: string }>(10, new ManualClock(), { maxBytes: MiB });
      const hugeKey = JSON.stringify(["http-request", "token=1", "U".repeat(MiB)]);
      await cache.resolve(hugeKey, load(10_000), ttl);
      const oneEntry = cache.bytes;
      expect(oneEntry).to.be.below(CACHE_ENTRY_OVERHEAD_BYTES + 200);
      expect((await cache.resolve(hugeKey, load(10_000), ttl)).source).to.equal("cache");
      expect((await cache.resolve(hugeKey.slice(0, -1), load(10_000), ttl)).source, "a different key is a different entry").to.equal(
        "backend",
      );
      expect(cache.bytes).to.equal(2 * oneEntry);
    });

    it("holds its byte bound with large values, dropping the least recently used", async () => {
      const maxBytes = 64 * 1024;
      const cache = new VerdictCache<{ ttlMs: number; reason: string }>(100_000, new ManualClock(), { maxBytes });
      let most = 0;
      for (let i = 0; i < 500; i++) {
        await cache.resolve(`key-${i}`, load(60_000, "x".repeat(4096)), ttl);
        most = Math.max(most, cache.bytes);
      }
      expect(most, "bytes counted, at their highest").to.be.at.most(maxBytes);
      expect(cache.size).to.be.within(1, Math.floor(maxBytes / (2 * 4096)));
      expect((await cache.resolve("key-499", load(60_000), ttl)).source, "the newest stays").to.equal("cache");
      expect((await cache.resolve("key-0", load(60_000), ttl)).source, "the oldest went").to.equal("backend");
      // An entry larger than the whole bound is shared with its callers but never stored.
      await cache.resolve("giant", load(60_000, "y".repeat(maxBytes)), ttl);
      expect((await cache.resolve("giant", load(60_000), ttl)).source).to.equal("backend");
    });

    it("purgeExpired drops expired entries (denies included) that nobody touches again, and their bytes", async () => {
      const clock = new ManualClock();
      const cache = new VerdictCache<{ ttlMs: number; reason: string }>(1000, clock, { maxBytes: MiB });
      for (let i = 0; i < 100; i++) await cache.resolve(`deny-${i}`, load(5_000), ttl);
      for (let i = 0; i < 100; i++) await cache.resolve(`allow-${i}`, load(60_000), ttl);
      const full = cache.bytes;
      clock.advance(5_001);
      expect(cache.size, "expired but untouched entries still count before a purge").to.equal(200);
      expect(cache.purgeExpired()).to.equal(true);
      expect(cache.size).to.equal(100);
      expect(cache.bytes).to.be.closeTo(full / 2, full / 20);
      expect((await cache.resolve("allow-7", load(60_000), ttl)).source).to.equal("cache");
    });

    it("with purgeIntervalMs, a timer purges by itself; close() stops it and empties the cache", async () => {
      const clock = new ManualClock();
      const cache = new VerdictCache<{ ttlMs: number; reason: string }>(1000, clock, { purgeIntervalMs: 20 });
      cache.start(); // timers only: the purge interval
      try {
        for (let i = 0; i < 50; i++) await cache.resolve(`deny-${i}`, load(1_000), ttl);
        clock.advance(1_001);
        await waitFor("the purge timer to drop the expired entries", () => (cache.size === 0 ? true : undefined), 5_000);
        await cache.resolve("again", load(1_000), ttl);
      } finally {
        cache.close();
      }
      expect(cache.size).to.equal(0);
    });

    it("50,000 denied distinct requests with 1 KiB User-Agents: the byte bound holds, and after the purge memory is back near baseline", async function () {
      this.timeout(60_000);
      const gc = obtainGc();
      const heap = () => {
        gc?.();
        gc?.();
        return process.memoryUsage().heapUsed;
      };
      const clock = new ManualClock();
      const maxBytes = 32 * MiB;
      // Entry count set above what 32 MiB holds, so that the byte bound is the one that binds. (lru-cache
      // allocates its slot arrays by the entry count, so that memory is the same before and after.)
      const cache = new VerdictCache<{
        kind: string;
        answer: { kind: string; reason: string; authDurationSec: undefined };
        receivedAt: number;
      }>(100_000, clock, { maxBytes });
      const ua = "Mozilla/5.0 ".padEnd(1024, "u");
      const deny = async () => ({
        kind: "answer",
        answer: { kind: "deny", reason: "backend answered 403", authDurationSec: undefined },
        receivedAt: clock.now(),
      });
      const baseline = heap();
      let most = 0;
      for (let i = 0; i < 50_000; i++) {
        const key = JSON.stringify([
          "http-request",
          `token=t${i}`,
          "a001",
          "203.0.113.7",
          "/live/a001.flv",
          `${ua}${i}`,
          "live.example.com",
          "https://live.example.com",
        ]);
        await cache.resolve(key, deny, () => 5_000);
        if (i % 1000 === 999) most = Math.max(most, cache.bytes);
      }
      expect(most).to.be.at.most(maxBytes);
      expect(cache.size, "every entry is small: the 1 KiB agents are not kept").to.be.above(30_000);
      const filled = heap();
      clock.advance(5_001);
      cache.purgeExpired();
      expect(cache.size).to.equal(0);
      expect(cache.bytes).to.equal(0);
      if (gc !== undefined) {
        const after = heap();
        expect(filled - baseline, "the filled cache took memory (the measurement works)").to.be.above(5 * MiB);
        expect(
          after - baseline,
          `heap MiB: baseline ${(baseline / MiB).toFixed(1)}, filled ${(filled / MiB).toFixed(1)}, after purge ${(after / MiB).toFixed(1)}`,
        ).to.be.below(8 * MiB);
      }
      cache.close();
    });
  });
});
