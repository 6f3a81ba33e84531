import { expect } from "chai";
import type { LimitPolicy } from "../../plugin/src/sessions/sessions-schema.js";
import type { SessionIdentity } from "../../plugin/src/core/decision.js";
import type { ViewerSession } from "../../plugin/src/core/viewer-session.js";
import { MemorySessionStore } from "../../plugin/src/sessions/memory-session-store.js";
import { SessionLimiter, type SessionCaps } from "../../plugin/src/sessions/session-limiter.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";
import { ManualClock } from "../helpers/manual-clock.js";

function setUp(policy: LimitPolicy, caps?: SessionCaps) {
  const clock = new ManualClock(1_700_000_000_000);
  const store = new MemorySessionStore(clock, createCapturingLogger().logger);
  const limiter = new SessionLimiter(store, policy, caps);
  const closed: string[] = [];
  const viewer = (fields: { ip?: string; channel?: string } = {}) => {
    clock.advance(1);
    const session: ViewerSession = store.open({
      protocol: "rtmp",
      app: "live",
      channel: fields.channel ?? "cam1",
      ip: fields.ip ?? "192.0.2.1",
      userAgent: "",
      transport: { bytesOut: () => 0, close: () => closed.push(session.id) },
    });
    return session;
  };
  const join = async (identity?: SessionIdentity, fields: { ip?: string; channel?: string } = {}) => {
    const session = viewer(fields);
    return { session, outcome: await limiter.admit(session, { identity, request: undefined }) };
  };
  return { store, limiter, closed, join };
}

describe("SessionLimiter: at most N sessions per user, address and channel", () => {
  it("admits a viewer without identity or caps, as playing", async () => {
    const { join } = setUp("reject-new");
    const { session, outcome } = await join();
    expect(outcome).to.deep.equal({ admitted: true });
    expect(session.state).to.equal("playing");
  });

  it("reject-new: a user at the limit cannot add a session; the refused one stays checking", async () => {
    const { join, closed } = setUp("reject-new");
    const ann = { userId: "ann", maxSessions: 2 };
    expect((await join(ann)).outcome).to.deep.equal({ admitted: true });
    expect((await join(ann)).outcome).to.deep.equal({ admitted: true });
    const third = await join(ann);
    expect(third.outcome).to.deep.equal({ admitted: false, reason: "user ann is at the limit of 2 session(s)" });
    expect(third.session.state).to.equal("checking");
    expect(closed).to.deep.equal([]);
    expect((await join({ userId: "bob", maxSessions: 2 })).outcome).to.deep.equal({ admitted: true });
  });

  it("close-oldest: the newcomer plays and the user's oldest session is closed for the limit", async () => {
    const { join, closed } = setUp("close-oldest");
    const ann = { userId: "ann", maxSessions: 2 };
    const first = await join(ann);
    const second = await join(ann);
    const third = await join(ann);
    expect(third.outcome).to.deep.equal({ admitted: true });
    expect(closed).to.deep.equal([first.session.id]);
    expect(first.session).to.include({ state: "ended", endReason: "limit" });
    expect(second.session.state).to.equal("playing");
  });

  it("close-oldest after the limit was lowered closes as many as needed", async () => {
    const { store, join, closed } = setUp("close-oldest");
    const many = await Promise.all([1, 2, 3, 4].map(() => join({ userId: "ann", maxSessions: 4 })));
    await join({ userId: "ann", maxSessions: 2 });
    expect(closed).to.deep.equal(many.slice(0, 3).map((j) => j.session.id));
    expect(store.count({ userId: "ann", state: "playing" })).to.equal(2);
  });

  it("a limit of 0 refuses every session of that user", async () => {
    const { join } = setUp("reject-new");
    expect((await join({ userId: "ann", maxSessions: 0 })).outcome).to.deep.equal({
      admitted: false,
      reason: "user ann is at the limit of 0 session(s)",
    });
  });

  it("a maximum without a user id, or a user id without a maximum, limits nothing", async () => {
    const { join } = setUp("reject-new");
    for (let i = 0; i < 3; i++) expect((await join({ maxSessions: 1 })).outcome).to.deep.equal({ admitted: true });
    for (let i = 0; i < 3; i++) expect((await join({ userId: "ann" })).outcome).to.deep.equal({ admitted: true });
  });

  it("caps per address and per channel, whoever the viewer is", async () => {
    const { join } = setUp("reject-new", { maxPerIp: 1, maxPerChannel: 2 });
    expect((await join(undefined, { ip: "192.0.2.1" })).outcome).to.deep.equal({ admitted: true });
    expect((await join(undefined, { ip: "192.0.2.1" })).outcome).to.deep.equal({
      admitted: false,
      reason: "address 192.0.2.1 is at the limit of 1 session(s)",
    });
    expect((await join(undefined, { ip: "192.0.2.2" })).outcome).to.deep.equal({ admitted: true });
    expect((await join(undefined, { ip: "192.0.2.3" })).outcome).to.deep.equal({
      admitted: false,
      reason: "channel live/cam1 is at the limit of 2 session(s)",
    });
    expect((await join(undefined, { ip: "192.0.2.3", channel: "cam2" })).outcome).to.deep.equal({ admitted: true });
  });

  it("the user limit is checked before the caps", async () => {
    const { join } = setUp("reject-new", { maxPerIp: 1, maxPerChannel: 0 });
    await join({ userId: "ann", maxSessions: 1 });
    expect((await join({ userId: "ann", maxSessions: 1 })).outcome).to.deep.equal({
      admitted: false,
      reason: "user ann is at the limit of 1 session(s)",
    });
  });

  it("configure changes the policy and caps for the next viewers", async () => {
    const { limiter, join, closed } = setUp("reject-new");
    const first = await join(undefined, { ip: "192.0.2.1" });
    await join(undefined, { ip: "192.0.2.1" });
    limiter.configure("close-oldest", { maxPerIp: 1, maxPerChannel: 0 });
    expect((await join(undefined, { ip: "192.0.2.1" })).outcome).to.deep.equal({ admitted: true });
    expect(closed[0]).to.equal(first.session.id);
    expect(closed).to.have.length(2);
  });
});
