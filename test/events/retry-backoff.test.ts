import { expect } from "chai";
import { retryDelayMs } from "../../plugin/src/events/retry-backoff.js";
import { uuidV7 } from "../../plugin/src/events/event-id.js";

describe("webhook retry backoff", () => {
  const settings = { initialMs: 1000, maxMs: 60_000 };

  it("doubles per failure in a row, up to maxMs", () => {
    const top = () => 0.999_999_9; // the top of the jitter range: the full wait
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => retryDelayMs(n, settings, top))).to.deep.equal([
      1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000,
    ]);
    expect(retryDelayMs(10_000, settings, top), "no overflow after very many failures").to.equal(60_000);
  });

  it("is jittered to between half and all of the wait", () => {
    expect(retryDelayMs(3, settings, () => 0)).to.equal(2000);
    expect(retryDelayMs(3, settings, () => 0.5)).to.equal(3000);
    const seen = new Set(Array.from({ length: 50 }, () => retryDelayMs(3, settings)));
    for (const delay of seen) expect(delay).to.be.within(2000, 4000);
    expect(seen.size, "Math.random spreads the waits").to.be.greaterThan(5);
  });
});

describe("webhook event ids (UUIDv7)", () => {
  it("are version 7, variant 10, and sort by creation time", () => {
    const a = uuidV7(1_800_000_000_000);
    const b = uuidV7(1_800_000_000_001);
    expect(a).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a < b).to.equal(true);
    expect(uuidV7(1_800_000_000_000)).to.not.equal(a);
  });
});
