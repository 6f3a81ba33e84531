import { expect } from "chai";
import type { HlsIpBinding } from "../../plugin/src/hls/hls-schema.js";
import { HlsSessionKeys, type HlsSession } from "../../plugin/src/hls/hls-session-keys.js";
import { parseIpAddress } from "../../plugin/src/net/ip-address.js";
import { MemorySessionStore } from "../../plugin/src/sessions/memory-session-store.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";
import { ManualClock } from "../helpers/manual-clock.js";

const T0 = 1_700_000_000_000;
const ip = (text: string) => parseIpAddress(text);

function setUp(binding: HlsIpBinding = "exact", idleSec = 30) {
  const clock = new ManualClock(T0);
  const log = createCapturingLogger().logger;
  const store = new MemorySessionStore(clock, log);
  const keys = new HlsSessionKeys(store, clock, idleSec, binding, log);
  const add = (address: string | null, fields: { app?: string; channel?: string } = {}): HlsSession => {
    const app = fields.app ?? "live";
    const channel = fields.channel ?? "cam1";
    const viewer = store.open({
      protocol: "hls",
      app,
      channel,
      ip: address ?? "",
      userAgent: "",
      transport: { bytesOut: () => 0, close() {} },
    });
    store.admit(viewer, { identity: undefined, request: undefined });
    const session: HlsSession = {
      key: HlsSessionKeys.newKey(),
      viewer,
      app,
      channel,
      address: address === null ? null : ip(address),
      bytesOut: 0,
    };
    keys.add(session);
    return session;
  };
  return { clock, store, keys, add };
}

describe("HlsSessionKeys: session keys of HLS viewers", () => {
  it("makes 128-bit URL-safe keys, never the same twice", () => {
    const made = new Set(Array.from({ length: 200 }, () => HlsSessionKeys.newKey()));
    expect(made.size).to.equal(200);
    for (const key of made) expect(key).to.match(/^[A-Za-z0-9_-]{22}$/);
  });

  it("finds a key for its channel and address, and touches the session", () => {
    const { clock, keys, add } = setUp();
    const s = add("203.0.113.7");
    clock.advance(5000);
    expect(keys.lookup(s.key, "live", "cam1", ip("203.0.113.7"))).to.equal(s);
    expect(s.viewer.lastActivityAt).to.equal(T0 + 5000);
  });

  it("refuses an unknown key, a revoked key and the key of an ended session", () => {
    const { store, keys, add } = setUp();
    expect(keys.lookup("no-such-key", "live", "cam1", ip("203.0.113.7"))).to.equal("unknown key");
    const revoked = add("203.0.113.7");
    keys.revoke(revoked.key);
    expect(keys.lookup(revoked.key, "live", "cam1", ip("203.0.113.7"))).to.equal("unknown key");
    const ended = add("203.0.113.7");
    store.end(ended.viewer, "closed-by-api");
    expect(keys.lookup(ended.key, "live", "cam1", ip("203.0.113.7"))).to.equal("unknown key");
  });

  it("refuses a key used for another channel or app, without touching the session", () => {
    const { clock, keys, add } = setUp();
    const s = add("203.0.113.7");
    clock.advance(1000);
    expect(keys.lookup(s.key, "live", "cam2", ip("203.0.113.7"))).to.equal("wrong channel");
    expect(keys.lookup(s.key, "other", "cam1", ip("203.0.113.7"))).to.equal("wrong channel");
    expect(s.viewer.lastActivityAt).to.equal(T0);
  });

  describe("address binding", () => {
    const cases: [HlsIpBinding, string | null, string | null, boolean][] = [
      ["exact", "203.0.113.7", "203.0.113.7", true],
      ["exact", "203.0.113.7", "::ffff:203.0.113.7", true],
      ["exact", "203.0.113.7", "203.0.113.8", false],
      ["exact", "2001:db8::1", "2001:db8:0:0:0:0:0:1", true],
      ["exact", "2001:db8::1", "2001:db8::2", false],
      ["exact", "203.0.113.7", null, false],
      ["exact", null, "203.0.113.7", false],
      ["subnet", "203.0.113.7", "203.0.113.200", true],
      ["subnet", "203.0.113.7", "203.0.114.7", false],
      ["subnet", "2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true],
      ["subnet", "2001:db8:1:2::1", "2001:db8:1:3::1", false],
      ["subnet", "203.0.113.7", "::ffff:203.0.113.9", true],
      ["subnet", "203.0.113.7", "2001:db8::1", false],
      ["subnet", null, "203.0.113.7", false],
      ["off", "203.0.113.7", "198.51.100.1", true],
      ["off", "203.0.113.7", null, true],
      ["off", null, "2001:db8::1", true],
    ];
    for (const [binding, bound, actual, allowed] of cases) {
      it(`${binding}: a key bound to ${bound} used from ${actual} is ${allowed ? "allowed" : "refused"}`, () => {
        const { keys, add } = setUp(binding);
        const s = add(bound);
        expect(keys.lookup(s.key, "live", "cam1", actual === null ? null : ip(actual))).to.equal(allowed ? s : "address mismatch");
      });
    }
  });

  it("a reload's new binding applies to keys already handed out", () => {
    const { keys, add } = setUp("exact");
    const s = add("203.0.113.7");
    expect(keys.lookup(s.key, "live", "cam1", ip("203.0.113.9"))).to.equal("address mismatch");
    keys.configure(30, "subnet");
    expect(keys.lookup(s.key, "live", "cam1", ip("203.0.113.9"))).to.equal(s);
  });

  it("a sweep ends sessions idle longer than the idle time as idle, keeps the others, and forgets ended ones", () => {
    const { clock, store, keys, add } = setUp("exact", 30);
    const idle = add("203.0.113.7");
    const active = add("203.0.113.8");
    const ended = add("203.0.113.9");
    clock.advance(20_000);
    keys.lookup(active.key, "live", "cam1", ip("203.0.113.8"));
    store.end(ended.viewer, "viewer-left");
    clock.advance(10_000);
    keys.sweep();
    expect(idle.viewer.state).to.equal("playing"); // exactly the idle time: not yet
    clock.advance(1);
    keys.sweep();
    expect(idle.viewer).to.include({ state: "ended", endReason: "idle" });
    expect(ended.viewer.endReason).to.equal("viewer-left");
    expect(active.viewer.state).to.equal("playing");
    expect(keys.lookup(idle.key, "live", "cam1", ip("203.0.113.7"))).to.equal("unknown key");
    expect(keys.lookup(active.key, "live", "cam1", ip("203.0.113.8"))).to.equal(active);
  });

  it("close forgets every key without ending the sessions", () => {
    const { keys, add } = setUp();
    const s = add("203.0.113.7");
    keys.close();
    expect(keys.lookup(s.key, "live", "cam1", ip("203.0.113.7"))).to.equal("unknown key");
    expect(s.viewer.state).to.equal("playing");
  });
});
