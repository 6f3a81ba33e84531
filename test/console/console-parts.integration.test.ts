import { expect } from "chai";
import http from "node:http";
import { AuthChain } from "../../plugin/src/chain/auth-chain.js";
import { consoleCookie, consoleCookieOf, ConsoleSessions } from "../../plugin/src/console/console-sessions.js";
import { DecisionLog } from "../../plugin/src/console/decision-log.js";
import { HISTORY_SAMPLES, ViewerHistory } from "../../plugin/src/console/viewer-history.js";
import { deny, PASS } from "../../plugin/src/core/decision.js";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import { pluginConfigSchema, type PluginConfig } from "../../plugin/src/config/plugin-config-schema.js";
import { MemorySessionStore } from "../../plugin/src/sessions/memory-session-store.js";
import { buildViewerAuth, type ViewerAuth } from "../../plugin/src/viewer-auth.js";
import { authRequest } from "../helpers/auth-requests.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { TEST_API_TOKEN } from "../helpers/api-tokens.js";
import { waitUntil } from "../helpers/wait-for.js";

const HOUR = 3_600_000;

describe("console parts: sign-in sessions, revoked tokens, decision log, viewer history", () => {
  it("a console session lasts 2 h idle and 12 h at most, and its CSRF token matches only itself", () => {
    const clock = new ManualClock(0);
    const sessions = new ConsoleSessions(clock);
    const a = sessions.create();
    const b = sessions.create();
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
    const c = sessions.create();
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
    const chain = new AuthChain([{ name: "ip-deny", decide: (r) => (r.ip === "10.0.0.9" ? deny("address on deny list (10.0.0.9/32)") : PASS) }], "allow", logger);
    const log = new DecisionLog(chain, new ManualClock(1000), 3);
    for (const ip of ["10.0.0.1", "10.0.0.9", "10.0.0.2", "10.0.0.9"]) await chain.decide(authRequest({ ip, query: "token=secret-in-query" }));
    const all = log.recent({}, 10);
    expect(all.map((d) => [d.ip, d.verdict, d.step])).to.deep.equal([["10.0.0.9", "deny", "ip-deny"], ["10.0.0.2", "allow", "default"], ["10.0.0.9", "deny", "ip-deny"]]);
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
      const s = store.open({ protocol, app: "live", channel, ip: "10.0.0.1", userAgent: "t", transport: { bytesOut: () => 0, close() {} } });
      store.admit(s, { identity: undefined, request: undefined });
      return s;
    };
    const a = play("hls", "one");
    play("hls", "one");
    play("rtmp", "one");
    store.open({ protocol: "hls", app: "live", channel: "two", ip: "10.0.0.1", userAgent: "t", transport: { bytesOut: () => 0, close() {} } }); // checking: not counted
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

describe("console routes over real HTTP (in-process plugin with its API)", function () {
  this.timeout(30_000);
  const TOKEN = TEST_API_TOKEN;
  let auth: ViewerAuth;
  let base: string;
  before(async () => {
    const config = parseConfig(pluginConfigSchema, { api: { enabled: true, port: 0, token: TOKEN } }) as PluginConfig;
    auth = buildViewerAuth(config, { logger: createCapturingLogger().logger });
    await auth.start();
    base = `http://127.0.0.1:${auth.api!.port}`;
  });
  after(async () => auth?.detach());

  it("streams a snapshot, then opened, playing, ended and byte counters as Server-Sent Events", async () => {
    let bytes = 0;
    const open = () => auth.sessions.open({ protocol: "http-flv", app: "live", channel: "test", ip: "10.0.0.1", userAgent: "<b>ua</b>", transport: { bytesOut: () => bytes, close() {} } });
    const first = open();
    const events: { event: string; data: any }[] = [];
    const req = http.get(`${base}/api/events`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    const response = await new Promise<http.IncomingMessage>((resolve) => req.once("response", resolve));
    expect(response.headers["content-type"]).to.match(/^text\/event-stream/);
    let buffer = "";
    response.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("utf8");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.+)$/m.exec(block)?.[1];
        const data = /^data: (.+)$/m.exec(block)?.[1];
        if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
      }
    });
    const until = (what: string, check: () => boolean) => waitUntil(() => `${what}: ${JSON.stringify(events.map((e) => e.event))}`, check, 15_000, 50);
    await until("snapshot", () => events.length >= 1);
    expect(events[0]!.event).to.equal("snapshot");
    const snapshot = events[0]!.data as { fields: string[]; rows: unknown[][] };
    expect(snapshot.rows).to.have.length(1);
    const row = Object.fromEntries(snapshot.fields.map((f, i) => [f, snapshot.rows[0]![i]]));
    expect(row).to.include({ id: first.id, protocol: "http-flv", app: "live", channel: "test", userAgent: "<b>ua</b>", state: "checking", name: null, userId: null, bytesOut: 0 });
    const second = open();
    auth.sessions.admit(second, { identity: { userId: "alice" }, request: undefined });
    bytes = 4096;
    await until("bytes", () => events.some((e) => e.event === "bytes"));
    auth.sessions.end(second, "viewer-left");
    await until("ended", () => events.some((e) => e.event === "ended"));
    req.destroy();
    const names = events.map((e) => e.event);
    expect(names.slice(0, 3)).to.deep.equal(["snapshot", "opened", "playing"]);
    expect(events.find((e) => e.event === "playing")!.data).to.include({ id: second.id, userId: "alice", userAgent: "<b>ua</b>" });
    expect(events.find((e) => e.event === "bytes")!.data.sessions).to.deep.include.members([[first.id, 4096], [second.id, 4096]]);
    expect(events.find((e) => e.event === "ended")!.data).to.deep.equal({ id: second.id, reason: "viewer-left" });
    auth.sessions.end(first, "viewer-left");
  });

  it("signs in only with a JSON credential, and a cookie call that changes something needs the CSRF header", async () => {
    const signIn = (body: string, type = "application/json") => fetch(`${base}/api/console/sign-in`, { method: "POST", headers: { "Content-Type": type }, body });
    expect((await signIn(`credential=${TOKEN}`, "application/x-www-form-urlencoded")).status, "a plain form cannot sign in").to.equal(415);
    expect((await signIn("{not json")).status).to.equal(400);
    expect((await signIn(JSON.stringify({ credential: "wrong-credential" }))).status).to.equal(401);
    const ok = await signIn(JSON.stringify({ credential: TOKEN }));
    expect(ok.status).to.equal(200);
    const cookie = ok.headers.get("set-cookie")!.split(";")[0]!;
    const { csrf } = (await ok.json()) as { csrf: string };
    expect((await fetch(`${base}/api/sessions`, { headers: { Cookie: cookie } })).status).to.equal(200);
    const revoke = (headers: Record<string, string>) => fetch(`${base}/api/sessions/revoke`, { method: "POST", headers: { Cookie: cookie, "Content-Type": "application/json", ...headers }, body: JSON.stringify({ token: "some-token-123" }) });
    expect((await revoke({})).status).to.equal(403);
    expect((await revoke({ "X-CSRF-Token": "guess" })).status).to.equal(403);
    expect((await revoke({ "X-CSRF-Token": csrf })).status).to.equal(200);
    expect(auth.revocations.list().map((r) => r.kind), "the token is revoked from now on").to.include("token");
    const signOut = await fetch(`${base}/api/console/sign-out`, { method: "POST", headers: { Cookie: cookie, "X-CSRF-Token": csrf } });
    expect(signOut.headers.get("set-cookie")).to.include("Max-Age=0");
    expect((await fetch(`${base}/api/sessions`, { headers: { Cookie: cookie } })).status).to.equal(401);
  });

  it("the preview link needs a securetoken secret and the HLS port, and names a channel exactly", async () => {
    const get = async (path: string) => {
      const r = await fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      return [r.status, (await r.json()) as Record<string, unknown>] as const;
    };
    expect((await get("/api/console/preview?channel=../etc"))[0]).to.equal(400);
    expect((await get("/api/console/preview?channel=live/test"))[0], "no HLS server in a plain plugin").to.equal(404);
    expect((await get("/api/decisions?limit=0"))[0]).to.equal(400);
    expect((await get("/api/decisions?verdict=deny"))[0]).to.equal(200);
    expect((await get("/api/viewers/history"))[1]).to.have.keys("now", "history");
  });
});
