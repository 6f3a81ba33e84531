import { expect } from "chai";
import { hasFfmpeg, playWithFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor, wsReadFor } from "../helpers/flv-clients.js";
import { startBundledServer, waitFor, type RunningServer } from "../helpers/bundled-server.js";

const TOKEN = "origin-lock-viewer-token";

/** Fetches a playlist with `headers`, then follows it to a segment without them (segments ride the session). */
async function playHls(start: string, headers: Record<string, string>): Promise<{ status: number; segmentBytes: number }> {
  let url = new URL(start);
  for (let depth = 0; depth < 3; depth++) {
    const response = await fetch(url, depth === 0 ? { headers } : {});
    const body = Buffer.from(await response.arrayBuffer());
    if (response.status !== 200) return { status: response.status, segmentBytes: 0 };
    if (!body.subarray(0, 7).equals(Buffer.from("#EXTM3U"))) return { status: 200, segmentBytes: body.length };
    url = new URL(
      body
        .toString("utf8")
        .split("\n")
        .find((l) => l !== "" && !l.startsWith("#"))!,
      url,
    );
  }
  return { status: 200, segmentBytes: 0 };
}

describe("origin lock: real requests from allowed and foreign sites over HTTP-FLV, WS-FLV, HLS and RTMP", function () {
  this.timeout(120000);
  let run: RunningServer;

  before(async function () {
    if (!hasFfmpeg) this.skip();
    run = await startBundledServer({
      auth: {
        users: [{ login: "viewer", tokens: [TOKEN], packages: ["*"] }],
        originLock: { allow: ["player.example.com", "*.tv.example"], allowMissing: false },
      },
    });
    await waitFor("the channel up", () => (run.server.channelStatus()[0]?.state === "up" ? true : undefined), 60000);
  });
  after(async () => run?.stop());

  const flv = `/live/test.flv?token=${TOKEN}`;
  const lastDecision = () => run.logs.events("auth.decision").at(-1)!;

  it("builds the origin step after the address lists and before the credentials", () => {
    expect(run.server.auth.chain.stepNames).to.deep.equal(["internal", "revoked", "ip-deny", "ip-allow", "origin", "users"]);
  });

  it("HTTP-FLV: an allowed Origin plays, a Referer on a subdomain plays, a foreign Origin gets 0 bytes", async () => {
    const allowed = await httpGetFor(`${run.httpBase}${flv}`, 1200, { headers: { origin: "https://player.example.com" } });
    expect(allowed.status).to.equal(200);
    expect(allowed.body.subarray(0, 3).toString()).to.equal("FLV");
    const viaReferer = await httpGetFor(`${run.httpBase}${flv}`, 1200, { headers: { referer: "https://live.tv.example/watch/1" } });
    expect(viaReferer.status).to.equal(200);
    const foreign = await httpGetFor(`${run.httpBase}${flv}`, 800, { headers: { origin: "https://evil.example" } });
    expect(foreign.status).to.equal(403);
    expect(foreign.body.includes(Buffer.from("FLV"))).to.equal(false);
    expect(lastDecision()).to.include({ protocol: "http-flv", step: "origin", verdict: "deny", code: "origin-not-allowed" });
    const spoofedReferer = await httpGetFor(`${run.httpBase}${flv}`, 800, {
      headers: { origin: "https://evil.example", referer: "https://player.example.com/" },
    });
    expect(spoofedReferer.status, "Origin wins over Referer").to.equal(403);
    const none = await httpGetFor(`${run.httpBase}${flv}`, 800);
    expect(none.status, "allowMissing: false").to.equal(403);
    expect(lastDecision()).to.include({ step: "origin", code: "origin-not-allowed" });
  });

  it("WS-FLV: the browser's Origin decides", async () => {
    const ws = `${run.httpBase.replace("http:", "ws:")}${flv}`;
    const allowed = await wsReadFor(ws, 1200, { headers: { origin: "https://player.example.com" } });
    expect(allowed.data.subarray(0, 3).toString()).to.equal("FLV");
    const foreign = await wsReadFor(ws, 800, { headers: { origin: "https://evil.example" } });
    expect(foreign.bytes).to.equal(0);
    expect(lastDecision()).to.include({ protocol: "ws-flv", step: "origin", code: "origin-not-allowed" });
  });

  it("HLS: the playlist request's Referer decides; the segments ride the session without headers", async () => {
    const playlist = `${run.httpBase}/live/test/index.m3u8?token=${TOKEN}`;
    const allowed = await playHls(playlist, { referer: "https://player.example.com/embed" });
    expect(allowed.segmentBytes).to.be.greaterThan(1000);
    const foreign = await playHls(playlist, { referer: "https://evil.example/embed" });
    expect(foreign).to.deep.equal({ status: 403, segmentBytes: 0 });
    expect(lastDecision()).to.include({ protocol: "hls", step: "origin", code: "origin-not-allowed" });
  });

  it("RTMP: connect's pageUrl decides", async () => {
    const url = `${run.rtmpBase}/live/test?token=${TOKEN}`;
    const allowed = await playWithFfmpeg(url, { seconds: 1, inputOptions: ["-rtmp_pageurl", "https://player.example.com/live"] });
    expect(allowed.stdoutBytes).to.be.greaterThan(1000);
    expect(lastDecision()).to.include({ protocol: "rtmp", verdict: "allow" });
    const foreign = await playWithFfmpeg(url, { seconds: 2, inputOptions: ["-rtmp_pageurl", "https://evil.example/live"] });
    expect(foreign.stdoutBytes).to.equal(0);
    expect(lastDecision()).to.include({ protocol: "rtmp", step: "origin", code: "origin-not-allowed" });
    const none = await playWithFfmpeg(url, { seconds: 2 });
    expect(none.stdoutBytes, "no pageUrl, allowMissing: false").to.equal(0);
  });
});
