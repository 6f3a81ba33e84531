import { expect } from "chai";
import { SignJWT, type JWTPayload } from "jose";
import { hasFfmpeg, playWithFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor, wsReadFor } from "../helpers/flv-clients.js";
import { startBundledServer, waitFor, type RunningServer } from "../helpers/bundled-server.js";
import { auditSecrets } from "../helpers/log-audit.js";

const SECRET = "jwt-play-test-secret-at-least-32-bytes";

function token(claims: JWTPayload, secret = SECRET): Promise<string> {
  const nowSec = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: "viewer-1", aud: "tv", exp: nowSec + 600, ...claims })
    .setProtectedHeader({ alg: "HS256" })
    .sign(new TextEncoder().encode(secret));
}

/** Fetches a playlist chain until a segment; returns the bytes of each step's body. */
async function playHls(start: string): Promise<{ status: number; bytes: number; segmentBytes: number }> {
  let url = new URL(start);
  for (let depth = 0; depth < 3; depth++) {
    const response = await fetch(url);
    const body = Buffer.from(await response.arrayBuffer());
    if (response.status !== 200) return { status: response.status, bytes: body.length, segmentBytes: 0 };
    if (!body.subarray(0, 7).equals(Buffer.from("#EXTM3U"))) return { status: 200, bytes: body.length, segmentBytes: body.length };
    const next = body
      .toString("utf8")
      .split("\n")
      .find((l) => l !== "" && !l.startsWith("#"));
    url = new URL(next!, url);
  }
  return { status: 200, bytes: 0, segmentBytes: 0 };
}

describe("JWT: real plays through the bundled server (NMS 4.4.3) over RTMP, HTTP-FLV, WS-FLV and HLS", function () {
  this.timeout(120000);
  let run: RunningServer;
  let good: string;
  let expired: string;
  let otherChannel: string;
  let forged: string;

  before(async function () {
    if (!hasFfmpeg) this.skip();
    auditSecrets(SECRET);
    run = await startBundledServer({ auth: { jwt: { secrets: [SECRET], audience: "tv" }, packages: { basic: ["test"] } } });
    await waitFor("the channel up", () => (run.server.channelStatus()[0]?.state === "up" ? true : undefined), 60000);
    good = await token({ packages: ["basic"] });
    expired = await token({ channels: ["test"], exp: Math.floor(Date.now() / 1000) - 120 });
    otherChannel = await token({ channels: ["news"] });
    forged = await token({ channels: ["*"] }, "an-attackers-guess-of-32-bytes-or-more");
    auditSecrets(good, expired, otherChannel, forged);
  });
  after(async () => run?.stop());

  const http = (t: string) => `${run.httpBase}/live/test.flv?token=${t}`;
  const ws = (t: string) => `${run.httpBase.replace("http:", "ws:")}/live/test.flv?token=${t}`;
  const rtmp = (t: string) => `${run.rtmpBase}/live/test?token=${t}`;
  const lastDecision = () => run.logs.events("auth.decision").at(-1)!;

  it("a valid token plays over every protocol, naming the user", async () => {
    const viaHttp = await httpGetFor(http(good), 1500);
    expect(viaHttp.status).to.equal(200);
    expect(viaHttp.body.subarray(0, 3).toString()).to.equal("FLV");
    expect(lastDecision()).to.include({ protocol: "http-flv", step: "jwt", verdict: "allow", user: "viewer-1" });
    const viaWs = await wsReadFor(ws(good), 1500);
    expect(viaWs.data.subarray(0, 3).toString()).to.equal("FLV");
    const viaRtmp = await playWithFfmpeg(rtmp(good), { seconds: 1 });
    expect(viaRtmp.code).to.equal(0);
    expect(viaRtmp.stdoutBytes).to.be.greaterThan(1000);
    expect(lastDecision()).to.include({ protocol: "rtmp", step: "jwt", verdict: "allow" });
    const viaHls = await playHls(`${run.httpBase}/live/test/index.m3u8?token=${good}`);
    expect(viaHls.segmentBytes).to.be.greaterThan(1000);
  });

  const refused: [string, () => string, string][] = [
    ["an expired token", () => expired, "jwt-expired"],
    ["a token for another channel", () => otherChannel, "jwt-channel"],
    ["a forged token", () => forged, "jwt-bad-signature"],
  ];
  for (const [what, make, code] of refused) {
    it(`${what} is refused over every protocol with 0 media bytes (${code})`, async () => {
      const viaHttp = await httpGetFor(http(make()), 800);
      expect(viaHttp.status).to.equal(403);
      expect(viaHttp.body.includes(Buffer.from("FLV")), "no FLV byte").to.equal(false);
      expect(lastDecision()).to.include({ protocol: "http-flv", step: "jwt", verdict: "deny", code });
      const viaWs = await wsReadFor(ws(make()), 800);
      expect(viaWs.bytes, "WS-FLV media bytes").to.equal(0);
      expect(lastDecision()).to.include({ protocol: "ws-flv", code });
      const viaRtmp = await playWithFfmpeg(rtmp(make()), { seconds: 2 });
      expect(viaRtmp.stdoutBytes, "RTMP media bytes").to.equal(0);
      expect(lastDecision()).to.include({ protocol: "rtmp", code });
      const viaHls = await playHls(`${run.httpBase}/live/test/index.m3u8?token=${make()}`);
      expect(viaHls.status).to.equal(403);
      expect(viaHls.segmentBytes).to.equal(0);
      expect(lastDecision()).to.include({ protocol: "hls", code });
      expect(String(lastDecision().reason).startsWith(`${code}: `)).to.equal(true);
    });
  }
});
