import { expect } from "chai";
import { MemorySessionStore } from "../../plugin/src/sessions/memory-session-store.js";
import { SessionExpiry } from "../../plugin/src/sessions/session-expiry.js";
import { MemoryLinkUses } from "../../plugin/src/securetoken/link-uses.js";
import type { ViewerSession } from "../../plugin/src/core/viewer-session.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";

describe("SessionExpiry: sessions closed as expired when their credential ends (manual clock)", () => {
  const clock = new ManualClock(1_000_000);
  const logs = createCapturingLogger();
  let store: MemorySessionStore;
  let expiry: SessionExpiry;
  let closedTransports: string[];

  beforeEach(() => {
    store = new MemorySessionStore(clock, logs.logger);
    expiry = new SessionExpiry(store, clock, logs.logger);
    closedTransports = [];
  });
  afterEach(() => expiry.close());

  function play(validUntilMs: number | undefined, protocol: ViewerSession["protocol"] = "rtmp"): ViewerSession {
    const session = store.open({
      protocol,
      app: "live",
      channel: "c",
      ip: "127.0.0.1",
      userAgent: "",
      transport: { bytesOut: () => 0, close: () => closedTransports.push(session.id) },
    });
    store.admit(session, { identity: undefined, request: undefined, validUntilMs });
    return session;
  }

  it("closes a session at its credential's end, not before, with the reason expired and its connection cut", () => {
    const s = play(clock.now() + 3000, "hls");
    clock.advance(2999);
    expect(expiry.sweep()).to.equal(0);
    expect(s.state).to.equal("playing");
    clock.advance(1);
    expect(expiry.sweep()).to.equal(1);
    expect(s).to.include({ state: "ended", endReason: "expired" });
    expect(closedTransports).to.deep.equal([s.id]);
  });

  it("closes in deadline order and leaves sessions without an end alone", () => {
    const late = play(clock.now() + 5000);
    const early = play(clock.now() + 1000);
    const endless = play(undefined);
    clock.advance(1000);
    expiry.sweep();
    expect([early.state, late.state]).to.deep.equal(["ended", "playing"]);
    clock.advance(10_000_000);
    expiry.sweep();
    expect(late.state).to.equal("ended");
    expect(endless.state).to.equal("playing");
    expect(expiry.size).to.equal(0);
  });

  it("a re-check that renews the credential moves the cut; one that removes the end cancels it", () => {
    const renewed = play(clock.now() + 1000);
    const unbounded = play(clock.now() + 1000);
    store.renew(renewed, { request: undefined as never, validity: { until: clock.now() + 5000 } });
    store.renew(unbounded, { request: undefined as never, validity: { until: undefined } });
    clock.advance(1000);
    expiry.sweep();
    expect(renewed.state, "renewed: plays on").to.equal("playing");
    expect(unbounded.state).to.equal("playing");
    clock.advance(4000);
    expiry.sweep();
    expect(renewed.endReason).to.equal("expired");
    expect(unbounded.state).to.equal("playing");
  });

  it("an end moved earlier is followed once tracked again", () => {
    const s = play(clock.now() + 60_000);
    store.renew(s, { request: undefined as never, validity: { until: clock.now() + 500 } });
    expiry.track(s);
    clock.advance(500);
    expiry.sweep();
    expect(s.endReason).to.equal("expired");
  });

  it("bounded cost: 10,000 sessions filed, a tick with nothing due touches none, ended sessions are forgotten", () => {
    const sessions = Array.from({ length: 10_000 }, (_, i) => play(clock.now() + 10_000 + i));
    expect(expiry.size).to.equal(10_000);
    expect(expiry.sweep()).to.equal(0);
    for (const s of sessions.slice(0, 5000)) store.end(s, "viewer-left");
    expect(expiry.size).to.equal(5000);
    clock.advance(20_000);
    expect(expiry.sweep()).to.equal(5000);
    expect(sessions.slice(0, 5000).every((s) => s.endReason === "viewer-left")).to.equal(true);
  });
});

describe("MemoryLinkUses: counted uses of a link until its end", () => {
  const clock = new ManualClock(1_000_000);
  const use = (key: string, max: number, untilMs = clock.now() + 60_000) => ({ key, max, untilMs });

  it("counts up to max, refuses beyond, and a use given back can be taken again", () => {
    const uses = new MemoryLinkUses(clock);
    expect(uses.takeNow(use("a", 2))).to.equal(true);
    expect(uses.takeNow(use("a", 2))).to.equal(true);
    expect(uses.takeNow(use("a", 2))).to.equal(false);
    uses.giveBack(use("a", 2));
    expect(uses.takeNow(use("a", 2))).to.equal(true);
    expect(uses.takeNow(use("b", 1)), "another link counts apart").to.equal(true);
  });

  it("forgets a link's count after its end (bounded memory)", () => {
    const uses = new MemoryLinkUses(clock);
    uses.takeNow(use("old", 1, clock.now() + 1000));
    expect(uses.size).to.equal(1);
    clock.advance(61_000);
    uses.takeNow(use("new", 1));
    expect(uses.used("old")).to.equal(0);
    expect(uses.size).to.equal(1);
  });
});
