import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hashPassword, makeSecureLink } from "../../plugin/src/index.js";
import { startNms, startPublishingNms, type NmsInstance } from "../helpers/nms-instance.js";
import { hasFfmpeg, playWithFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor, wsReadFor } from "../helpers/flv-clients.js";
import { sleep } from "../helpers/sleep.js";
import { waitUntil } from "../helpers/wait-for.js";

const STREAM = "play";
const SECRET = "quickstart-secret";

describe("built-in users and securetoken links: real plays through NMS over HTTP-FLV, WS-FLV and RTMP", function () {
  this.timeout(60000);
  let nms: NmsInstance;

  before(async function () {
    if (!hasFfmpeg) this.skip();
    nms = await startPublishingNms(
      {
        auth: {
          defaultAction: "deny",
          packages: { basic: [STREAM, "news"] },
          users: [
            { login: "demo", password: "demo", tokens: ["demo"], packages: ["*"] },
            { login: "alice", password: await hashPassword("pa55:word"), tokens: ["alice-token"], packages: ["basic"], maxConnections: 2 },
            { login: "bound", tokens: ["bound-token"], packages: ["*"], ips: ["127.0.0.2"] },
            { login: "old", tokens: ["old-token"], packages: ["*"], expires: "2020-01-01T00:00:00Z" },
            { login: "off", tokens: ["off-token"], packages: ["*"], enabled: false },
          ],
          securetoken: { format: "astra", secrets: ["previous-secret", SECRET] },
          // 127.0.0.1 fails 3 times below (wrong password, forged links); the ban test uses 127.0.0.5.
          bruteForce: { maxFailures: 5, windowSec: 60, banSec: 600 },
        },
        sessions: { limitPolicy: "reject-new", recheckIntervalSec: 0 },
      },
      `live/${STREAM}`,
    );
  });
  after(async () => nms?.stop());

  const flv = (query: string, stream = STREAM) => `http://127.0.0.1:${nms.httpPort}/live/${stream}.flv?${query}`;
  const ws = (query: string, stream = STREAM) => `ws://127.0.0.1:${nms.httpPort}/live/${stream}.flv?${query}`;
  const rtmp = (query: string, stream = STREAM) => `rtmp://127.0.0.1:${nms.rtmpPort}/live/${stream}?${query}`;
  const lastDecision = () => nms.logs.events("auth.decision").at(-1)!;
  const link = (url: string, over: { secret?: string; nowMs?: number; ip?: string } = {}) =>
    makeSecureLink({ url, ip: "127.0.0.1", lifetimeSec: 3600, secret: SECRET, ...over });

  it("builds the chain with the users and securetoken steps in the order of docs/protocols.md §1", () => {
    expect(nms.auth.chain.stepNames).to.deep.equal(["revoked", "ip-deny", "ip-allow", "users", "securetoken"]);
  });

  describe("users", () => {
    it("token= plays over HTTP-FLV, naming the session after the user", async () => {
      const result = await httpGetFor(flv("token=demo"), 800);
      expect(result.status).to.equal(200);
      expect(result.body.subarray(0, 3).toString()).to.equal("FLV");
      expect(lastDecision()).to.include({
        protocol: "http-flv",
        step: "users",
        verdict: "allow",
        reason: 'user "demo" by token',
        user: "demo",
      });
    });

    it("auth=login:password plays over RTMP and WS-FLV", async () => {
      const played = await playWithFfmpeg(rtmp("auth=alice:pa55%3Aword"), { seconds: 1 });
      expect(played.code).to.equal(0);
      expect(played.stdoutBytes).to.be.greaterThan(1000);
      expect(lastDecision()).to.include({ protocol: "rtmp", step: "users", verdict: "allow", reason: 'user "alice" by password' });
      const viaWs = await wsReadFor(ws("auth=alice:pa55:word"), 800);
      expect(viaWs.data.subarray(0, 3).toString()).to.equal("FLV");
      expect(lastDecision()).to.include({ protocol: "ws-flv", verdict: "allow" });
    });

    it("a wrong password is refused over RTMP with a precise reason", async () => {
      const played = await playWithFfmpeg(rtmp("auth=demo:wrong"), { seconds: 2 });
      expect(played.stdoutBytes).to.equal(0);
      expect(played.stderr).to.match(/Server error: Forbidden/);
      expect(lastDecision()).to.include({ protocol: "rtmp", step: "users", verdict: "deny", reason: 'wrong password for user "demo"' });
    });

    it("a bound user plays only from their address", async () => {
      expect((await httpGetFor(flv("token=bound-token"), 500, { localAddress: "127.0.0.2" })).status).to.equal(200);
      expect(lastDecision()).to.include({ ip: "127.0.0.2", verdict: "allow" });
      expect((await httpGetFor(flv("token=bound-token"), 500)).status).to.equal(403);
      expect(lastDecision()).to.include({ step: "users", reason: 'address 127.0.0.1 is not bound to user "bound"' });
    });

    it("an expired user is refused over WS-FLV, a disabled one over RTMP", async () => {
      const viaWs = await wsReadFor(ws("token=old-token"), 2000);
      expect(viaWs).to.include({ closeCode: 4403, bytes: 0 });
      expect(lastDecision()).to.include({ protocol: "ws-flv", reason: 'user "old" expired at 2020-01-01T00:00:00.000Z' });
      const played = await playWithFfmpeg(rtmp("token=off-token"), { seconds: 2 });
      expect(played.stderr).to.match(/Server error: Forbidden/);
      expect(lastDecision()).to.include({ protocol: "rtmp", reason: 'user "off" is disabled' });
    });

    it("a channel outside the user's packages is refused", async () => {
      expect((await httpGetFor(flv("token=alice-token", "sport"), 500)).status).to.equal(403);
      expect(lastDecision()).to.include({ channel: "sport", reason: 'channel "sport" is not in the packages of user "alice"' });
    });

    it("maxConnections 2: two viewers on HTTP-FLV and WS-FLV play, a third on RTMP is refused", async () => {
      const first = httpGetFor(flv("token=alice-token"), 3000);
      const second = wsReadFor(ws("auth=alice:pa55:word"), 3000);
      await sleep(700);
      expect(nms.auth.sessions.list().filter((s) => s.identity?.userId === "alice" && s.state === "playing")).to.have.length(2);
      const third = await playWithFfmpeg(rtmp("token=alice-token"), { seconds: 2 });
      expect(third.stdoutBytes).to.equal(0);
      expect(third.stderr).to.match(/Server error: Forbidden/);
      expect(nms.logs.events("session.limit_refused").at(-1)).to.include({ reason: "user alice is at the limit of 2 session(s)" });
      expect((await first).bytes).to.be.greaterThan(10000);
      expect((await second).bytes).to.be.greaterThan(10000);
    });

    it("an unknown token passes on to the next steps (here: the default deny)", async () => {
      expect((await httpGetFor(flv("token=nobody"), 500)).status).to.equal(403);
      expect(lastDecision()).to.include({ step: "default", verdict: "deny" });
    });
  });

  describe("securetoken (Astra)", () => {
    it("a link signed for the request path and IP plays over HTTP-FLV and RTMP", async () => {
      const httpLink = link(`http://127.0.0.1:${nms.httpPort}/live/${STREAM}.flv`);
      expect((await httpGetFor(httpLink, 800)).status).to.equal(200);
      expect(lastDecision()).to.include({ step: "securetoken", verdict: "allow" });
      const played = await playWithFfmpeg(link(`rtmp://127.0.0.1:${nms.rtmpPort}/live/${STREAM}`, { secret: "previous-secret" }), {
        seconds: 1,
      });
      expect(played.code).to.equal(0);
      expect(played.stdoutBytes).to.be.greaterThan(1000);
      expect(lastDecision()).to.include({ protocol: "rtmp", step: "securetoken", verdict: "allow" });
    });

    it("expired, forged and other-IP links are refused", async () => {
      const url = `http://127.0.0.1:${nms.httpPort}/live/${STREAM}.flv`;
      expect((await httpGetFor(link(url, { nowMs: Date.now() - 7200_000 }), 500)).status).to.equal(403);
      expect(lastDecision())
        .to.include({ step: "securetoken", verdict: "deny" })
        .and.property("reason")
        .that.match(/^securetoken expired at /);
      expect((await httpGetFor(link(url, { secret: "guessed" }), 500)).status).to.equal(403);
      expect(lastDecision()).to.include({
        step: "securetoken",
        reason: "securetoken does not match: forged, or made for another path, address or secret",
      });
      const viaWs = await wsReadFor(link(`ws://127.0.0.1:${nms.httpPort}/live/${STREAM}.flv`, { ip: "127.0.0.9" }), 2000);
      expect(viaWs).to.include({ closeCode: 4403, bytes: 0 });
    });
  });

  describe("brute-force throttle", () => {
    it("bans an address after 5 failed credentials, then refuses even valid ones; logs auth.ip_banned", async () => {
      const from = { localAddress: "127.0.0.5" };
      for (const query of [
        "auth=demo:x",
        "auth=ghost:y",
        "auth=demo",
        "auth=alice:pa55",
        `token=${"0".repeat(40)}-00000000-9999999999-1`,
      ]) {
        expect((await httpGetFor(flv(query), 300, from)).status).to.equal(403);
      }
      expect(nms.logs.events("auth.ip_banned").at(-1)).to.include({ ip: "127.0.0.5", failures: 5 });
      expect((await httpGetFor(flv("token=demo"), 300, from)).status).to.equal(403);
      expect(lastDecision()).to.include({ ip: "127.0.0.5", step: "users", reason: "too many failed attempts" });
      expect((await httpGetFor(flv("token=demo"), 300)).status, "other addresses unaffected").to.equal(200);
    });
  });

  describe("logs", () => {
    it("never logs a password, a user token or a securetoken secret", () => {
      const text = nms.logs.raw.join("\n");
      for (const secret of ["pa55", "alice-token", "bound-token", SECRET, "previous-secret"]) expect(text).to.not.include(secret);
    });
  });
});

describe("users file through a real NMS: reload without restart, nothing left behind on detach", function () {
  this.timeout(20000);
  let nms: NmsInstance | undefined;
  let dir: string;
  let file: string;
  let sighupListeners: number;
  const flv = (token: string) => `http://127.0.0.1:${nms!.httpPort}/live/anything.flv?token=${token}`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "va-users-nms-"));
    file = join(dir, "users.yaml");
    writeFileSync(file, "users:\n  - { login: first, tokens: [first-token], packages: ['*'] }\n");
    sighupListeners = process.listenerCount("SIGHUP");
    nms = await startNms({ auth: { usersFile: file } });
  });
  after(async () => {
    await nms?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("plays a token from the file, then one added to the file, and drops one removed from it", async () => {
    expect((await httpGetFor(flv("first-token"), 300)).status).to.equal(200);
    writeFileSync(file, "users:\n  - { login: second, tokens: [second-token], packages: ['*'] }\n");
    // Waits at most 5 s for the reload; the plays below are what this test asserts.
    await waitUntil("users.reloaded", () => nms!.logs.events("users.reloaded").length > 0, 5000, 50).catch(() => undefined);
    expect((await httpGetFor(flv("second-token"), 300)).status).to.equal(200);
    expect((await httpGetFor(flv("first-token"), 300)).status).to.equal(403);
    expect(nms!.auth.users?.reload()).to.deep.equal({ ok: true, users: 1 });
  });

  it("detach closes the watcher and the SIGHUP listener", async () => {
    expect(process.listenerCount("SIGHUP")).to.equal(sighupListeners + 1);
    await nms!.stop();
    nms = undefined;
    expect(process.listenerCount("SIGHUP")).to.equal(sighupListeners);
  });
});
