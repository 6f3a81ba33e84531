import { expect } from "chai";
import { makeSecureLink, type PluginConfigInput } from "../../plugin/src/index.js";
import type { ViewerSession } from "../../plugin/src/core/viewer-session.js";
import { startLineNms, type LineNms } from "../helpers/nms-instance.js";
import { hasFfmpeg, playWithFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor, wsReadFor } from "../helpers/flv-clients.js";
import { waitUntil } from "../helpers/wait-for.js";

const STREAM = "counted";
const SECRET = "counted-links-secret";
const keyOf = (playlist: string) => /vas=([A-Za-z0-9_-]+)/.exec(playlist)?.[1];

/** A generous bound on a busy machine for "within 1 s": the sweep runs every 250 ms. */
const CUT_SLACK_MS = 2500;

describe("signed links with maxUses, and sessions cut when their link ends: real plays on NMS 4.4.3", function () {
  this.timeout(90000);
  let nms: LineNms;
  const config = (maxUses: number, sessions: Record<string, unknown> = {}): PluginConfigInput => ({
    auth: { defaultAction: "deny", securetoken: { format: "astra", secrets: [SECRET], clockSkewSec: 0, maxUses } },
    sessions: { limitPolicy: "reject-new", recheckIntervalSec: 0, ...sessions },
  });
  const base = () => `127.0.0.1:${nms.httpPort}/live/${STREAM}`;
  const link = (url: string, lifetimeSec = 600) => makeSecureLink({ url, ip: "127.0.0.1", lifetimeSec, secret: SECRET });
  const flvLink = (lifetimeSec?: number) => link(`http://${base()}.flv`, lifetimeSec);
  const wsLink = (lifetimeSec?: number) => link(`http://${base()}.flv`, lifetimeSec).replace(/^http:/, "ws:");
  const rtmpLink = (lifetimeSec?: number) => link(`rtmp://127.0.0.1:${nms.rtmpPort}/live/${STREAM}`, lifetimeSec);
  const hlsLink = (lifetimeSec?: number) => link(`http://${base()}/index.m3u8`, lifetimeSec);
  const usedUp = () => nms.logs.events("gate.link_used_up").length;
  const playingOf = (protocol: string) => nms.auth.sessions.list({ protocol: protocol as ViewerSession["protocol"], state: "playing" });

  before(async function () {
    if (!hasFfmpeg) this.skip();
    nms = await startLineNms("4.4.3", config(1));
    await nms.publish(STREAM);
  });
  after(async () => nms?.stop());
  /** Puts other `maxUses` and session caps in force on the running plugin. */
  const reload = (maxUses: number, sessions: Record<string, unknown> = {}) =>
    expect(nms.auth.reload({ ...config(maxUses, sessions), hls: { dir: nms.hlsRoot } }).restartNeeded).to.deep.equal([]);
  afterEach(() => reload(1));

  describe("maxUses: 1, one session ever per link", () => {
    it("HTTP-FLV: the first play gets media, the second 403 with 0 media bytes", async () => {
      const url = flvLink();
      const first = await httpGetFor(url, 800);
      expect(first.status).to.equal(200);
      expect(first.bytes).to.be.greaterThan(1000);
      const before = usedUp();
      const second = await httpGetFor(url, 800);
      expect(second.status).to.equal(403);
      expect(second.body.subarray(0, 3).toString()).to.not.equal("FLV");
      expect(usedUp()).to.equal(before + 1);
    });

    it("WS-FLV: the second play is closed with 4403 and 0 bytes", async () => {
      const url = wsLink();
      expect((await wsReadFor(url, 800)).bytes).to.be.greaterThan(1000);
      expect(await wsReadFor(url, 2000)).to.include({ closeCode: 4403, bytes: 0 });
    });

    it("RTMP: the second play is refused (Forbidden) and ffmpeg receives nothing", async () => {
      const url = rtmpLink();
      const first = await playWithFfmpeg(url, { seconds: 1 });
      expect(first.stdoutBytes).to.be.greaterThan(1000);
      const second = await playWithFfmpeg(url, { seconds: 2 });
      expect(second.stdoutBytes).to.equal(0);
      expect(second.stderr).to.match(/Forbidden/);
    });

    it("HLS: the session's playlists and segments are one use; a second playlist request with the link is refused", async () => {
      const url = hlsLink();
      const wrapper = await httpGetFor(url, 2000);
      expect(wrapper.status).to.equal(200);
      const key = keyOf(wrapper.body.toString())!;
      for (let i = 0; i < 3; i++) {
        const media = await httpGetFor(`http://${base()}/index.m3u8?vas=${key}`, 2000);
        expect(media.status, "the session's keyed playlist").to.equal(200);
        const segment = media.body
          .toString()
          .split("\n")
          .find((l) => l !== "" && !l.startsWith("#"))!;
        expect((await httpGetFor(`http://${base()}/${segment}`, 2000)).status, "a segment of the session").to.equal(200);
      }
      const again = await httpGetFor(url, 2000);
      expect(again.status).to.equal(403);
      expect(again.body.toString()).to.not.match(/#EXTM3U/);
    });

    it("a first attempt refused by a session limit does not spend the link", async () => {
      for (const session of nms.auth.sessions.list()) nms.auth.sessions.close(session, "closed-by-api"); // earlier tests' HLS sessions
      reload(1, { maxPerIp: 1 });
      const occupant = httpGetFor(flvLink(), 4000);
      await waitUntil("the occupant plays", () => playingOf("http-flv").length === 1, 5000);
      const url = flvLink(700);
      const refused = await httpGetFor(url, 800);
      expect(refused.status).to.equal(403);
      expect(nms.logs.events("session.limit_refused").at(-1)?.reason).to.equal("address 127.0.0.1 is at the limit of 1 session(s)");
      await occupant;
      await waitUntil("the occupant's end", () => playingOf("http-flv").length === 0, 5000);
      const played = await httpGetFor(url, 800);
      expect(played.status, "the link still has its one use").to.equal(200);
      expect(played.bytes).to.be.greaterThan(1000);
      expect((await httpGetFor(url, 800)).status).to.equal(403);
    });
  });

  it("maxUses: 3 admits three sessions of one link, at once or one after the other, and refuses the fourth", async () => {
    reload(3);
    const url = flvLink();
    const together = [httpGetFor(url, 1500), httpGetFor(url, 1500)];
    const third = await wsReadFor(url.replace(/^http:/, "ws:"), 800);
    expect(third.bytes).to.be.greaterThan(1000);
    for (const viewer of await Promise.all(together)) expect(viewer.status).to.equal(200);
    const fourth = await httpGetFor(url, 800);
    expect(fourth.status).to.equal(403);
    expect(fourth.bytes).to.be.lessThan(100);
  });

  describe("a link that ends while its viewer plays cuts the session within 1 s, as expired", () => {
    /** The playing session of a protocol that opened last. */
    async function sessionOf(protocol: string): Promise<ViewerSession> {
      await waitUntil(`a playing ${protocol} session`, () => playingOf(protocol).length > 0, 10000);
      return playingOf(protocol).at(-1)!;
    }
    function expectCut(session: ViewerSession) {
      expect(session.endReason).to.equal("expired");
      expect(session.validUntilMs).to.be.a("number");
      const lateMs = session.endedAt! - session.validUntilMs!;
      expect(lateMs, "cut after the link's end").to.be.at.least(0);
      expect(lateMs, "cut soon after the link's end").to.be.lessThan(CUT_SLACK_MS);
    }

    it("HTTP-FLV", async () => {
      const viewer = httpGetFor(flvLink(3), 15000);
      const session = await sessionOf("http-flv");
      const result = await viewer;
      expect(result.status).to.equal(200);
      expect(result.bytes).to.be.greaterThan(1000);
      await waitUntil("the end", () => session.state === "ended", 5000);
      expectCut(session);
    });

    it("WS-FLV", async () => {
      const viewer = wsReadFor(wsLink(3), 15000);
      const session = await sessionOf("ws-flv");
      const result = await viewer;
      expect(result.bytes).to.be.greaterThan(1000);
      expect(result.closeCode, "closed by the server, not by the read timeout").to.be.a("number");
      expectCut(session);
    });

    it("RTMP", async () => {
      const started = Date.now();
      const viewer = playWithFfmpeg(rtmpLink(3), { seconds: 15 });
      const session = await sessionOf("rtmp");
      const result = await viewer;
      expect(result.stdoutBytes).to.be.greaterThan(1000);
      expect(Date.now() - started, "ffmpeg stopped by the cut, not by -t").to.be.lessThan(12000);
      expectCut(session);
    });

    it("HLS: the session key stops working (403)", async () => {
      const wrapper = await httpGetFor(hlsLink(3), 2000);
      expect(wrapper.status).to.equal(200);
      const key = keyOf(wrapper.body.toString())!;
      const session = playingOf("hls").at(-1)!;
      expect((await httpGetFor(`http://${base()}/index.m3u8?vas=${key}`, 2000)).status).to.equal(200);
      let status = 200;
      await waitUntil(
        "the keyed playlist refused",
        async () => (status = (await httpGetFor(`http://${base()}/index.m3u8?vas=${key}`, 2000)).status) !== 200,
        10000,
        100,
      );
      expect(status).to.equal(403);
      const ended = nms.logs
        .events("session.end")
        .map((l) => l.session as Record<string, unknown>)
        .filter((s) => s.protocol === "hls")
        .at(-1);
      expect(ended).to.include({ reason: "expired" });
      expectCut(session);
    });
  });
});
