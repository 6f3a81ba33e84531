import { expect } from "chai";
import { FailureThrottle } from "../../plugin/src/core/failure-throttle.js";
import { ManualClock } from "../helpers/manual-clock.js";

const OPTIONS = { maxFailures: 3, windowSec: 60, banSec: 300 };

describe("FailureThrottle: failures per key ban it for a while", () => {
  it("bans a key at its maxFailures-th failure within the window, for banSec", () => {
    const clock = new ManualClock(0);
    const throttle = new FailureThrottle(clock, OPTIONS);
    expect([throttle.fail("a"), throttle.fail("a")]).to.deep.equal([0, 0]);
    expect(throttle.isBanned("a")).to.equal(false);
    expect(throttle.fail("a")).to.equal(3);
    expect(throttle.isBanned("a")).to.equal(true);
    expect(throttle.banLeftMs("a")).to.equal(300_000);
    expect(throttle.isBanned("b")).to.equal(false);
    clock.advance(299_999);
    expect(throttle.banLeftMs("a")).to.equal(1);
    clock.advance(1);
    expect(throttle.isBanned("a")).to.equal(false);
    expect(throttle.banLeftMs("a")).to.equal(0);
  });

  it("the window runs from the first failure: failures spread wider than it never ban", () => {
    const clock = new ManualClock(0);
    const throttle = new FailureThrottle(clock, OPTIONS);
    throttle.fail("a");
    clock.advance(30_000);
    throttle.fail("a");
    clock.advance(30_000); // 60 s after the first: a new window
    expect(throttle.fail("a")).to.equal(0);
    expect(throttle.isBanned("a")).to.equal(false);
    clock.advance(1000);
    expect(throttle.fail("a")).to.equal(0);
    expect(throttle.fail("a")).to.equal(3);
  });

  it("after a ban lapses the key starts from zero", () => {
    const clock = new ManualClock(0);
    const throttle = new FailureThrottle(clock, OPTIONS);
    for (let i = 0; i < 3; i++) throttle.fail("a");
    clock.advance(300_000);
    expect(throttle.fail("a")).to.equal(0);
    expect(throttle.isBanned("a")).to.equal(false);
  });

  it("reserve counts attempts in flight against the limit", () => {
    const throttle = new FailureThrottle(new ManualClock(0), OPTIONS);
    expect([throttle.reserve("a"), throttle.reserve("a"), throttle.reserve("a"), throttle.reserve("a")]).to.deep.equal([
      true,
      true,
      true,
      false,
    ]);
    expect(throttle.reserve("b")).to.equal(true);
    expect(throttle.settle("a", false)).to.equal(0);
    expect(throttle.reserve("a")).to.equal(true);
  });

  it("a failure already in the window takes a place from reserve", () => {
    const throttle = new FailureThrottle(new ManualClock(0), OPTIONS);
    throttle.fail("a");
    throttle.fail("a");
    expect(throttle.reserve("a")).to.equal(true);
    expect(throttle.reserve("a")).to.equal(false);
  });

  it("settling failed attempts records failures and bans at the limit; a banned key reserves nothing", () => {
    const throttle = new FailureThrottle(new ManualClock(0), OPTIONS);
    for (let i = 0; i < 3; i++) throttle.reserve("a");
    expect([throttle.settle("a", true), throttle.settle("a", true), throttle.settle("a", true)]).to.deep.equal([0, 0, 3]);
    expect(throttle.isBanned("a")).to.equal(true);
    expect(throttle.reserve("a")).to.equal(false);
  });

  it("forgets the least recent keys beyond maxKeys", () => {
    const throttle = new FailureThrottle(new ManualClock(0), { ...OPTIONS, maxFailures: 1, maxKeys: 2 });
    throttle.fail("a");
    throttle.fail("b");
    throttle.fail("c");
    expect(["a", "b", "c"].map((k) => throttle.isBanned(k))).to.deep.equal([false, true, true]);
  });
});
