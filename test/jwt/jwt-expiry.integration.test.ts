import { expect } from "chai";
import { SignJWT } from "jose";
import type { PluginConfigInput } from "../../plugin/src/index.js";
import type { ViewerSession } from "../../plugin/src/core/viewer-session.js";
import { startLineNms, type LineNms } from "../helpers/nms-instance.js";
import { hasFfmpeg, playWithFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor, wsReadFor } from "../helpers/flv-clients.js";
import { waitUntil } from "../helpers/wait-for.js";
import { auditSecrets } from "../helpers/log-audit.js";

const STREAM = "jwtcut";
const SECRET = "jwt-expiry-test-secret-of-32-bytes-or-more";
const keyOf = (playlist: string) => /vas=([A-Za-z0-9_-]+)/.exec(playlist)?.[1];

/** A generous bound on a busy machine for "within 1 s": the sweep runs every 250 ms. */
const CUT_SLACK_MS = 2500;

/** A token for the test channel whose `exp` is `inSec` whole seconds ahead (at least 3 s after the play starts). */
async function tokenEndingIn(inSec: number): Promise<string> {
  const token = await new SignJWT({ sub: "viewer-cut", channels: [STREAM], exp: Math.floor(Date.now() / 1000) + inSec })
    .setProtectedHeader({ alg: "HS256" })
    .sign(new TextEncoder().encode(SECRET));
  auditSecrets(token);
  return token;
}

function expectCut(session: ViewerSession, token: string) {
  expect(session.endReason).to.equal("expired");
  const expMs = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).exp * 1000;
  expect(session.validUntilMs, "the token's exp (clockSkewSec 0)").to.equal(expMs);
  const lateMs = session.endedAt! - expMs;
  expect(lateMs, "cut after the token's exp").to.be.at.least(0);
  expect(lateMs, "cut soon after the token's exp").to.be.lessThan(CUT_SLACK_MS);
}
describe("JWT: a token's exp cuts the playing session within 1 s, as expired: real plays on NMS 4.4.3", function () {
  this.timeout(90000);
  let nms: LineNms;
  const config = (recheckIntervalSec: number): PluginConfigInput => ({
    auth: { defaultAction: "deny", jwt: { secrets: [SECRET], clockSkewSec: 0 } },
    sessions: { recheckIntervalSec },
  });
  const base = () => `127.0.0.1:${nms.httpPort}/live/${STREAM}`;
  const playingOf = (protocol: string) => nms.auth.sessions.list({ protocol: protocol as ViewerSession["protocol"], state: "playing" });

  before(async function () {
    if (!hasFfmpeg) this.skip();
    auditSecrets(SECRET);
    nms = await startLineNms("4.4.3", config(0));
    await nms.publish(STREAM);
  });
  after(async () => nms?.stop());

  /** The playing session of a protocol that opened last. */
  async function sessionOf(protocol: string): Promise<ViewerSession> {
    await waitUntil(`a playing ${protocol} session`, () => playingOf(protocol).length > 0, 10000);
    return playingOf(protocol).at(-1)!;
  }

  it("HTTP-FLV", async () => {
    const token = await tokenEndingIn(4);
    const viewer = httpGetFor(`http://${base()}.flv?token=${token}`, 15000);
    const session = await sessionOf("http-flv");
    const result = await viewer;
    expect(result.status).to.equal(200);
    expect(result.bytes).to.be.greaterThan(1000);
    await waitUntil("the end", () => session.state === "ended", 5000);
    expectCut(session, token);
  });

  it("WS-FLV", async () => {
    const token = await tokenEndingIn(4);
    const viewer = wsReadFor(`ws://${base()}.flv?token=${token}`, 15000);
    const session = await sessionOf("ws-flv");
    const result = await viewer;
    expect(result.bytes).to.be.greaterThan(1000);
    expect(result.closeCode, "closed by the server, not by the read timeout").to.be.a("number");
    expectCut(session, token);
  });

  it("RTMP", async () => {
    const token = await tokenEndingIn(4);
    const started = Date.now();
    const viewer = playWithFfmpeg(`rtmp://127.0.0.1:${nms.rtmpPort}/live/${STREAM}?token=${token}`, { seconds: 15 });
    const session = await sessionOf("rtmp");
    const result = await viewer;
    expect(result.stdoutBytes).to.be.greaterThan(1000);
    expect(Date.now() - started, "ffmpeg stopped by the cut, not by -t").to.be.lessThan(12000);
    expectCut(session, token);
  });

  it("HLS: the session key stops working (playlist and segment 403)", async () => {
    const token = await tokenEndingIn(4);
    const wrapper = await httpGetFor(`http://${base()}/index.m3u8?token=${token}`, 2000);
    expect(wrapper.status).to.equal(200);
    const key = keyOf(wrapper.body.toString())!;
    const session = playingOf("hls").at(-1)!;
    const media = await httpGetFor(`http://${base()}/index.m3u8?vas=${key}`, 2000);
    expect(media.status).to.equal(200);
    const segment = media.body
      .toString()
      .split("\n")
      .find((l) => l !== "" && !l.startsWith("#"))!;
    expect((await httpGetFor(`http://${base()}/${segment}`, 2000)).status).to.equal(200);
    let status = 200;
    await waitUntil(
      "the keyed playlist refused",
      async () => (status = (await httpGetFor(`http://${base()}/index.m3u8?vas=${key}`, 2000)).status) !== 200,
      10000,
      100,
    );
    expect(status).to.equal(403);
    expect((await httpGetFor(`http://${base()}/${segment}`, 2000)).status, "the session's segment").to.equal(403);
    expectCut(session, token);
  });
});

describe("JWT: with re-checks every second, the re-checks keep the token's end and the session is still cut at exp (NMS 4.4.3)", function () {
  this.timeout(60000);
  let nms: LineNms;

  before(async function () {
    if (!hasFfmpeg) this.skip();
    nms = await startLineNms("4.4.3", {
      auth: { defaultAction: "deny", jwt: { secrets: [SECRET], clockSkewSec: 0 } },
      sessions: { recheckIntervalSec: 1 },
    });
    await nms.publish(STREAM);
  });
  after(async () => nms?.stop());

  it("HTTP-FLV: re-checked and allowed before exp, closed as expired at exp", async () => {
    const token = await tokenEndingIn(5);
    const viewer = httpGetFor(`http://127.0.0.1:${nms.httpPort}/live/${STREAM}.flv?token=${token}`, 15000);
    await waitUntil("a playing session", () => nms.auth.sessions.list({ protocol: "http-flv", state: "playing" }).length > 0, 10000);
    const session = nms.auth.sessions.list({ protocol: "http-flv", state: "playing" }).at(-1)!;
    const rechecks = () =>
      nms.logs.events("auth.decision").filter((l) => l.sessionId === session.id && l.purpose === "recheck" && l.verdict === "allow").length;
    await waitUntil("a re-check allowed the session", () => rechecks() > 0, 5000);
    expect(session.state).to.equal("playing");
    const result = await viewer;
    expect(result.bytes).to.be.greaterThan(1000);
    await waitUntil("the end", () => session.state === "ended", 5000);
    expectCut(session, token);
  });
});
