import { expect } from "chai";
import { VerdictCache } from "../plugin/src/backend/verdict-cache.js";
import { ManualClock } from "./helpers/manual-clock.js";

describe("VerdictCache", () => {
  const ttl = (v: { ttlMs: number }) => v.ttlMs;

  it("coalesces concurrent misses into one load, then serves the cache until the TTL passes", async () => {
    const clock = new ManualClock();
    const cache = new VerdictCache<{ ttlMs: number; n: number }>(10, clock);
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 20));
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
      await new Promise((r) => setTimeout(r, 10));
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
});
