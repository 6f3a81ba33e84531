import { expect } from "chai";
import { LogRateLimit } from "../../plugin/src/core/log-rate-limit.js";
import { ManualClock } from "../helpers/manual-clock.js";

describe("LogRateLimit: one log line per interval for a repeating failure", () => {
  it("logs the first occurrence at once, then holds the rest back until the interval passed", () => {
    const clock = new ManualClock(0);
    const limit = new LogRateLimit(clock, 60_000);
    const counts: number[] = [];
    for (let second = 0; second < 130; second++) {
      counts.push(limit.hit());
      clock.advance(1000);
    }
    // Lines at 0 s, 60 s, 120 s; each later one reports itself plus the 59 held back.
    expect(counts.map((c, i) => [i, c]).filter(([, c]) => c! > 0)).to.deep.equal([
      [0, 1],
      [60, 60],
      [120, 60],
    ]);
  });

  it("a hit exactly one interval after the last line is logged", () => {
    const clock = new ManualClock(5_000);
    const limit = new LogRateLimit(clock, 1000);
    expect(limit.hit()).to.equal(1);
    clock.advance(999);
    expect(limit.hit()).to.equal(0);
    clock.advance(1);
    expect(limit.hit()).to.equal(2);
  });

  it("reset returns the occurrences held back and logs the next one at once", () => {
    const clock = new ManualClock(0);
    const limit = new LogRateLimit(clock, 60_000);
    limit.hit();
    limit.hit();
    limit.hit();
    expect(limit.reset()).to.equal(2);
    expect(limit.reset()).to.equal(0);
    expect(limit.hit()).to.equal(1);
  });

  it("an interval of 0 logs every occurrence", () => {
    const limit = new LogRateLimit(new ManualClock(0), 0);
    expect([limit.hit(), limit.hit(), limit.hit()]).to.deep.equal([1, 1, 1]);
  });
});
