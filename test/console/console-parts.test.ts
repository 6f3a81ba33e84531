import { expect } from "chai";
import { AuthChain } from "../../plugin/src/chain/auth-chain.js";
import { consoleCookie, consoleCookieOf, ConsoleSessions } from "../../plugin/src/console/console-sessions.js";
import { DecisionLog } from "../../plugin/src/console/decision-log.js";
import { HISTORY_SAMPLES, ViewerHistory } from "../../plugin/src/console/viewer-history.js";
import { deny, PASS } from "../../plugin/src/core/decision.js";
import { MemorySessionStore } from "../../plugin/src/sessions/memory-session-store.js";
import { authRequest } from "../helpers/auth-requests.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";
import { ManualClock } from "../helpers/manual-clock.js";

const HOUR = 3_600_000;

describe("console parts: sign-in sessions, revoked tokens, decision log, viewer history", () => {
  it("a console session lasts 2 h idle and 12 h at most, and its CSRF token matches only itself", () => {
    const clock = new ManualClock(0);
    const sessions = new ConsoleSessions(clock);
    const a = sessions.create({ name: "admin", role: "admin" });
    const b = sessions.create({ name: "admin", role: "admin" });
    expect(a.id).to.not.equal(b.id);
    expect(sessions.csrfMatches(a.id, a.csrf)).to.equal(true);
    expect(sessions.csrfMatches(a.id, b.csrf)).to.equal(false);
    expect(sessions.csrfMatches(a.id, undefined)).to.equal(false);
    expect(sessions.csrfOf("forged")).to.equal(undefined);
    clock.advance(2 * HOUR - 1);
    expect(sessions.csrfOf(a.id)).to.equal(a.csrf); // activity renews the idle time
    clock.advance(2 * HOUR + 1);
    expect(sessions.csrfOf(b.id), "idle for more than 2 h").to.equal(undefined);
    for (let i = 0; i < 5; i++) {
      clock.advance(HOUR + HOUR / 2);
      sessions.csrfOf(a.id);
    }
    expect(sessions.csrfOf(a.id), "active, but older than 12 h").to.equal(undefined);
    const c = sessions.create({ name: "admin", role: "admin" });
    sessions.delete(c.id);
    expect(sessions.csrfOf(c.id)).to.equal(undefined);
  });

  it("the cookie is HttpOnly and SameSite=Strict, and is read back from a Cookie header", () => {
    expect(consoleCookie("abc", 43200, false)).to.equal("va_console=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200");
    expect(consoleCookie("abc", 0, true)).to.match(/; Secure$/);
    expect(consoleCookieOf("theme=dark; va_console=xyz; other=1")).to.equal("xyz");
    expect(consoleCookieOf("va_consolex=1")).to.equal(undefined);
    expect(consoleCookieOf(undefined)).to.equal(undefined);
  });

  it("the decision log keeps the newest decisions, filters them, and holds no query", async () => {
    const { logger } = createCapturingLogger();
    const chain = new AuthChain(
      [{ name: "ip-deny", decide: (r) => (r.ip === "10.0.0.9" ? deny("address on deny list (10.0.0.9/32)") : PASS) }],
      "allow",
      logger,
    );
    const log = new DecisionLog(chain, new ManualClock(1000), 3);
    for (const ip of ["10.0.0.1", "10.0.0.9", "10.0.0.2", "10.0.0.9"])
      await chain.decide(authRequest({ ip, query: "token=secret-in-query" }));
    const all = log.recent({}, 10);
    expect(all.map((d) => [d.ip, d.verdict, d.step])).to.deep.equal([
      ["10.0.0.9", "deny", "ip-deny"],
      ["10.0.0.2", "allow", "default"],
      ["10.0.0.9", "deny", "ip-deny"],
    ]);
    expect(log.recent({ verdict: "allow" }, 10)).to.have.length(1);
    expect(log.recent({ text: "DENY LIST" }, 10)).to.have.length(2);
    expect(log.recent({}, 1)).to.have.length(1);
    expect(JSON.stringify(all)).to.not.include("secret-in-query");
    log.close();
    await chain.decide(authRequest({}));
    expect(log.recent({}, 10)).to.have.length(3);
  });

  it("viewer history counts playing viewers per channel and protocol, an hour at most", () => {
    const clock = new ManualClock(0);
    const { logger } = createCapturingLogger();
    const store = new MemorySessionStore(clock, logger);
    const history = new ViewerHistory(store, clock, 3_600_000);
    const play = (protocol: "hls" | "rtmp", channel: string) => {
      const s = store.open({
        protocol,
        app: "live",
        channel,
        ip: "10.0.0.1",
        userAgent: "t",
        transport: { bytesOut: () => 0, close() {} },
      });
      store.admit(s, { identity: undefined, request: undefined });
      return s;
    };
    const a = play("hls", "one");
    play("hls", "one");
    play("rtmp", "one");
    store.open({
      protocol: "hls",
      app: "live",
      channel: "two",
      ip: "10.0.0.1",
      userAgent: "t",
      transport: { bytesOut: () => 0, close() {} },
    }); // checking: not counted
    history.sample();
    expect(history.history()).to.deep.equal({ "live/one": [{ at: 0, viewers: { hls: 2, rtmp: 1 } }] });
    store.end(a, "viewer-left");
    for (let i = 1; i <= HISTORY_SAMPLES + 5; i++) {
      clock.set(i * 10_000);
      history.sample();
    }
    const samples = history.history()["live/one"]!;
    expect(samples).to.have.length(HISTORY_SAMPLES);
    expect(samples.at(-1)).to.deep.equal({ at: (HISTORY_SAMPLES + 5) * 10_000, viewers: { hls: 1, rtmp: 1 } });
    for (const s of store.list()) store.end(s, "viewer-left");
    for (let i = 0; i < HISTORY_SAMPLES; i++) history.sample();
    expect(history.history(), "an hour without viewers: forgotten").to.deep.equal({});
    history.close();
  });
});
