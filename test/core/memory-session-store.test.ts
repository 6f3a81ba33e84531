import { expect } from "chai";
import type { Protocol } from "../../plugin/src/core/auth-request.js";
import type { SessionIdentity } from "../../plugin/src/core/decision.js";
import type { ViewerSession } from "../../plugin/src/core/viewer-session.js";
import { MemorySessionStore } from "../../plugin/src/sessions/memory-session-store.js";
import { authRequest } from "../helpers/auth-requests.js";
import { createCapturingLogger, type CapturedLog } from "../helpers/capturing-logger.js";
import { ManualClock } from "../helpers/manual-clock.js";

const T0 = 1_700_000_000_000;

describe("MemorySessionStore: the reference SessionStore", () => {
  let clock: ManualClock;
  let log: CapturedLog;
  let store: MemorySessionStore;
  beforeEach(() => {
    clock = new ManualClock(T0);
    log = createCapturingLogger();
    store = new MemorySessionStore(clock, log.logger);
  });

  const open = (
    fields: { protocol?: Protocol; app?: string; channel?: string; ip?: string; bytes?: () => number; close?: () => void } = {},
  ) =>
    store.open({
      protocol: fields.protocol ?? "rtmp",
      app: fields.app ?? "live",
      channel: fields.channel ?? "test",
      ip: fields.ip ?? "192.0.2.1",
      userAgent: "player",
      transport: { bytesOut: fields.bytes ?? (() => 500), close: fields.close ?? (() => {}) },
    });
  const play = (session: ViewerSession, identity?: SessionIdentity, query = "") => {
    store.admit(session, { identity, request: authRequest({ query }) });
    return session;
  };

  it("opens a session checking, with a fresh 128-bit URL-safe id, and announces it", () => {
    const opened: string[] = [];
    store.subscribe("opened", (s) => opened.push(s.id));
    const a = open();
    const b = open();
    expect(a).to.include({
      state: "checking",
      startedAt: T0,
      lastActivityAt: T0,
      app: "live",
      channel: "test",
      identity: undefined,
      playingSince: undefined,
    });
    expect(a.id).to.match(/^[A-Za-z0-9_-]{22}$/);
    expect(a.id).to.not.equal(b.id);
    expect(opened).to.deep.equal([a.id, b.id]);
    expect(store.get(a.id)).to.equal(a);
    expect(store.size).to.equal(2);
  });

  it("draws ids from a pooled random source without ever handing out the same bytes twice (across refills)", () => {
    // 2,000 ids cross several pool refills; a reused or overlapping slice would show as a duplicate or a
    // shifted id (an id's 16 bytes are 22 base64url characters, so slices must not straddle).
    const ids = Array.from({ length: 2000 }, () => open().id);
    expect(new Set(ids).size).to.equal(2000);
    for (const id of ids) expect(Buffer.from(id, "base64url")).to.have.length(16);
    expect(ids.every((id) => /^[A-Za-z0-9_-]{22}$/.test(id))).to.equal(true);
  });

  it("describe corrects a checking session's address and user agent, and nothing once it plays", () => {
    const s = open();
    store.describe(s, { ip: "198.51.100.4" });
    expect(s).to.include({ ip: "198.51.100.4", userAgent: "player" });
    store.describe(s, { userAgent: "VLC" });
    expect(s).to.include({ ip: "198.51.100.4", userAgent: "VLC" });
    play(s);
    store.describe(s, { ip: "203.0.113.1", userAgent: "other" });
    expect(s).to.include({ ip: "198.51.100.4", userAgent: "VLC" });
  });

  it("admit makes a session playing, once; RTMP has media from then on, HLS only from its first segment", () => {
    const rtmp = open();
    const hls = open({ protocol: "hls" });
    const playing: string[] = [];
    store.subscribe("playing", (s) => playing.push(s.id));
    clock.advance(300);
    play(rtmp, { userId: "ann" });
    play(hls);
    expect(rtmp).to.include({ state: "playing", playingSince: T0 + 300, lastActivityAt: T0 + 300, mediaSince: T0 + 300 });
    expect(hls.mediaSince).to.equal(undefined);
    clock.advance(100);
    store.touch(hls);
    expect(hls.lastActivityAt).to.equal(T0 + 400);
    expect(hls.mediaSince).to.equal(undefined);
    clock.advance(100);
    store.touch(hls, true);
    expect(hls).to.include({ lastActivityAt: T0 + 500, mediaSince: T0 + 500 });
    clock.advance(100);
    store.admit(rtmp, { identity: { userId: "bob" }, request: undefined });
    expect(rtmp.identity).to.deep.equal({ userId: "ann" });
    expect(playing).to.deep.equal([rtmp.id, hls.id]);
  });

  it("ends a session once: bytes frozen, removed, logged, announced", () => {
    let bytes = 500;
    const s = play(open({ bytes: () => bytes }), { userId: "ann", name: "Ann" });
    const ended: string[] = [];
    store.subscribe("ended", (e) => ended.push(e.id));
    clock.advance(2000);
    store.end(s, "viewer-left");
    bytes = 900;
    store.end(s, "revoked");
    expect(s).to.include({ state: "ended", endReason: "viewer-left", finalBytesOut: 500, endedAt: T0 + 2000 });
    expect(store.get(s.id)).to.equal(undefined);
    expect(store.size).to.equal(0);
    expect(store.count({ userId: "ann", state: "playing" })).to.equal(0);
    expect(ended).to.deep.equal([s.id]);
    expect(log.events("session.end")).to.have.length(1);
    expect(log.events("session.end")[0]!.session).to.include({
      id: s.id,
      userId: "ann",
      name: "Ann",
      durationMs: 2000,
      bytesOut: 500,
      reason: "viewer-left",
    });
  });

  it("records which stage refused a session that never played", () => {
    const s = open();
    store.end(s, "denied", { stage: "backend", identity: { userId: "ann" } });
    expect(s).to.include({ state: "ended", endReason: "denied" });
    expect(s.refusal).to.deep.equal({ stage: "backend", identity: { userId: "ann" } });
  });

  it("ends a session whose transport cannot report its bytes, counting 0 and logging why", () => {
    const s = play(
      open({
        bytes: () => {
          throw new Error("socket gone");
        },
      }),
    );
    store.end(s, "viewer-left");
    expect(s).to.include({ state: "ended", finalBytesOut: 0 });
    expect(log.events("session.bytes_failed")).to.have.length(1);
  });

  it("close ends the session, then cuts its connection; a failing cut is logged", () => {
    let cuts = 0;
    const s = play(open({ close: () => cuts++ }));
    store.close(s, "revoked");
    store.close(s, "revoked");
    expect(s).to.include({ state: "ended", endReason: "revoked" });
    expect(cuts).to.equal(1);
    const broken = play(
      open({
        close: () => {
          throw new Error("already closed");
        },
      }),
    );
    store.close(broken, "revoked");
    expect(broken.state).to.equal("ended");
    expect(log.events("session.close_failed")).to.have.length(1);
  });

  it("discard drops a session silently: no event, no log line, no index left behind", () => {
    const ended: string[] = [];
    store.subscribe("ended", (e) => ended.push(e.id));
    const s = play(open({ ip: "192.0.2.9" }));
    store.discard(s);
    expect(s.state).to.equal("ended");
    expect(s.endReason).to.equal(undefined);
    expect(store.size).to.equal(0);
    expect(store.count({ ip: "192.0.2.9", state: "playing" })).to.equal(0);
    expect(ended).to.deep.equal([]);
    expect(log.events("session.end")).to.deep.equal([]);
  });

  it("renew keeps the new request, and re-indexes a playing session under a new identity", () => {
    const s = play(open(), { userId: "ann" });
    const request = authRequest({ query: "token=new" });
    store.renew(s, { request });
    expect(s.request).to.equal(request);
    expect(s.identity).to.deep.equal({ userId: "ann" });
    store.renew(s, { request, identity: { userId: "bob" } });
    expect(store.count({ userId: "ann", state: "playing" })).to.equal(0);
    expect(store.count({ userId: "bob", state: "playing" })).to.equal(1);
  });

  describe("count, list and query", () => {
    let sessions: ViewerSession[];
    beforeEach(() => {
      sessions = [
        play(open({ app: "live", channel: "a", ip: "192.0.2.1", protocol: "rtmp" }), { userId: "ann" }, "token=t1"),
        play(open({ app: "live", channel: "a", ip: "192.0.2.2", protocol: "hls" }), { userId: "bob", name: "Bobby" }),
        play(open({ app: "live", channel: "b", ip: "192.0.2.1", protocol: "http-flv" }), { userId: "ann" }),
        open({ app: "live", channel: "a", ip: "192.0.2.3", protocol: "ws-flv" }),
      ];
      sessions.forEach((s, i) => ((s as { startedAt: number }).startedAt = T0 + i));
    });

    const cases: [string, Parameters<MemorySessionStore["count"]>[0], number[]][] = [
      ["no filter: every live session", {}, [0, 1, 2, 3]],
      ["a channel, playing (indexed)", { app: "live", channel: "a", state: "playing" }, [0, 1]],
      ["a channel, any state (scanned)", { app: "live", channel: "a" }, [0, 1, 3]],
      ["a user id, playing", { userId: "ann", state: "playing" }, [0, 2]],
      ["a user by session name", { user: "Bobby" }, [1]],
      ["a user by id", { user: "ann" }, [0, 2]],
      ["an address, playing", { ip: "192.0.2.1", state: "playing" }, [0, 2]],
      ["an address and a channel, playing", { ip: "192.0.2.1", app: "live", channel: "b", state: "playing" }, [2]],
      ["a protocol", { protocol: "hls" }, [1]],
      ["checking sessions", { state: "checking" }, [3]],
      ["the token a session was let in with", { token: "t1" }, [0]],
      ["a token no session carries", { token: "t2" }, []],
      ["an unknown user", { userId: "carol", state: "playing" }, []],
    ];
    for (const [name, filter, expected] of cases) {
      it(name, () => {
        expect(store.count(filter)).to.equal(expected.length);
        expect(store.list(filter)).to.deep.equal(expected.map((i) => sessions[i]));
      });
    }

    it("pages a query, oldest first, with the total", () => {
      expect(store.query({}, { limit: 2 })).to.deep.equal({ total: 4, sessions: sessions.slice(0, 2) });
      expect(store.query({}, { limit: 2, offset: 3 })).to.deep.equal({ total: 4, sessions: sessions.slice(3) });
      expect(store.query({ userId: "ann", state: "playing" }, { offset: 1 })).to.deep.equal({ total: 2, sessions: [sessions[2]] });
      expect(store.query({}, { offset: 9 })).to.deep.equal({ total: 4, sessions: [] });
    });
  });

  it("runs every subscriber even when one throws, and logs the failure; unsubscribing stops the calls", () => {
    const seen: string[] = [];
    store.subscribe("opened", () => {
      throw new Error("broken listener");
    });
    const off = store.subscribe("opened", (s) => seen.push(s.id));
    const a = open();
    off();
    open();
    expect(seen).to.deep.equal([a.id]);
    expect(log.events("session.listener_failed")).to.have.length(2);
  });
});
