import { expect } from "chai";
import http from "node:http";
import { hasFfmpeg, playWithFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor, wsReadFor } from "../helpers/flv-clients.js";
import { NMS_LINES, startLineNms, waitUntil, type LineNms } from "../helpers/nms-instance.js";
import { TokenAuthorizer } from "../helpers/token-authorizer.js";
import { ScriptedAuthorizer } from "../helpers/scripted-authorizer.js";
import { RawRtmpClient, connectObject } from "../helpers/rtmp-wire.js";
import { TEST_API_TOKEN } from "../helpers/api-tokens.js";
import { sleep } from "../helpers/sleep.js";
import { apiFetch } from "../helpers/openapi-check.js";

const STREAM = "mx";
const TOKEN = TEST_API_TOKEN;
const keyOf = (playlist: string) => /vas=([A-Za-z0-9_-]+)/.exec(playlist)?.[1];

/**
 * The version matrix: the same gate tests against node-media-server 2.7.4 (its `trans` HLS under
 * mediaroot, gated with no `hls` keys in the plugin configuration) and 4.4.3 (the plugin's `hls.dir`),
 * both attached through the public `attachViewerAuth`. Real NMS, real ffmpeg publishers and players;
 * bytes counted on the wire.
 */
for (const line of NMS_LINES) {
  describe(`host matrix: node-media-server ${line}`, function () {
    this.timeout(90000);
    const step = new TokenAuthorizer();
    /** Decides what the token step passes (any token but good/good2): the re-check test scripts it. */
    const scripted = new ScriptedAuthorizer();
    let nms: LineNms;
    const flvUrl = (query = "") => `http://127.0.0.1:${nms.httpPort}/live/${STREAM}.flv${query}`;
    const wsUrl = (query = "") => `ws://127.0.0.1:${nms.httpPort}/live/${STREAM}.flv${query}`;
    const rtmpUrl = (query = "") => `rtmp://127.0.0.1:${nms.rtmpPort}/live/${STREAM}${query}`;
    const hlsUrl = (path: string) => `http://127.0.0.1:${nms.httpPort}${path}`;
    const api = (path: string, init: RequestInit = {}) =>
      apiFetch(`http://127.0.0.1:${nms.auth.api!.port}${path}`, { ...init, headers: { Authorization: `Bearer ${TOKEN}` } });

    before(async function () {
      if (!hasFfmpeg) this.skip();
      nms = await startLineNms(
        line,
        {
          auth: { defaultAction: "deny" },
          hls: { sessionIdleSec: 3 },
          api: { enabled: true, port: 0, token: TOKEN },
        },
        { authorizers: [step, scripted] },
      );
      await nms.auth.ready;
      await nms.publish(STREAM);
      await sleep(1500); // let NMS fill its GOP cache, the bytes a leaky gate would send first
    });
    after(async () => nms?.stop());
    beforeEach(() => (step.delayMs = 500));

    /** The latest ended session of a protocol, from the session.end log lines. */
    function lastEnded(protocol: string): Record<string, unknown> {
      const ends = nms.logs.events("session.end").map((l) => l.session as Record<string, unknown>);
      const match = ends.filter((s) => s.protocol === protocol).at(-1);
      expect(match, `a ${protocol} session ended`).to.not.equal(undefined);
      return match!;
    }

    describe("no credential, chain answers after 500 ms: the protocol's refusal and 0 media bytes", () => {
      it("HTTP-FLV: 403 with only the refusal's body", async () => {
        const result = await httpGetFor(flvUrl(), 3000);
        expect(result.status).to.equal(403);
        expect(result.body.toString()).to.equal("Forbidden\n");
        expect(lastEnded("http-flv")).to.include({ bytesOut: 0, reason: "denied" });
      });

      it("WS-FLV: closed with 4403, 0 bytes", async () => {
        const result = await wsReadFor(wsUrl(), 3000);
        expect(result.opened).to.equal(true);
        expect(result.bytes).to.equal(0);
        expect(result.closeCode).to.equal(4403);
        expect(lastEnded("ws-flv")).to.include({ bytesOut: 0, reason: "denied" });
      });

      it("RTMP: NetStream.Play.Failed, 0 media bytes", async () => {
        const result = await playWithFfmpeg(rtmpUrl(), { seconds: 3 });
        expect(result.stdoutBytes).to.equal(0);
        expect(result.stderr).to.match(/Forbidden/);
        expect(lastEnded("rtmp")).to.include({ bytesOut: 0, reason: "denied" });
      });

      it("RTMP on the wire: no status and no media message while the chain runs, then only the refusal", async () => {
        step.delayMs = 1500;
        const player = await RawRtmpClient.open(nms.rtmpPort);
        try {
          await player.handshake();
          player.connect(connectObject(nms.rtmpPort));
          player.play(STREAM);
          await waitUntil("the play held in its check", () =>
            nms.auth.sessions.list().some((s) => s.protocol === "rtmp" && s.state === "checking"),
          );
          await sleep(500);
          expect(player.mediaBytes(), "media bytes while held").to.equal(0);
          await waitUntil("the refusal", () => lastEndedOrNull("rtmp")?.reason === "denied");
          await sleep(300);
          expect(player.mediaBytes(), "media bytes after the refusal").to.equal(0);
        } finally {
          player.destroy();
        }
      });
    });

    function lastEndedOrNull(protocol: string): Record<string, unknown> | undefined {
      return nms.logs
        .events("session.end")
        .map((l) => l.session as Record<string, unknown>)
        .filter((s) => s.protocol === protocol)
        .at(-1);
    }

    describe("a token: every protocol plays, its first media byte after the verdict", () => {
      it("HTTP-FLV: 200, the GOP cache at once after the 500 ms check", async () => {
        const started = Date.now();
        const result = await httpGetFor(flvUrl("?token=good"), 1500);
        expect(result.status).to.equal(200);
        expect(Date.now() - started).to.be.greaterThanOrEqual(500);
        expect(result.body.subarray(0, 3).toString()).to.equal("FLV");
        expect(result.bytes).to.be.greaterThan(20000);
      });

      it("WS-FLV: an FLV stream", async () => {
        const result = await wsReadFor(wsUrl("?token=good"), 2000);
        expect(result.data.subarray(0, 3).toString()).to.equal("FLV");
        expect(result.bytes).to.be.greaterThan(20000);
      });

      it("RTMP: ffmpeg decodes it", async () => {
        const result = await playWithFfmpeg(rtmpUrl("?token=good"), { seconds: 2, decode: true });
        expect(result.code, result.stderr.slice(-400)).to.equal(0);
        expect(result.frames).to.be.greaterThan(10);
      });

      it("a viewer that leaves while the chain runs leaves no session behind, in NMS or in the plugin", async () => {
        step.delayMs = 1000;
        const abort = new AbortController();
        const reading = httpGetFor(flvUrl("?token=good"), 20000, { abortSignal: abort.signal });
        await waitUntil("an HTTP-FLV check", () =>
          nms.auth.sessions.list().some((s) => s.protocol === "http-flv" && s.state === "checking"),
        );
        abort.abort();
        expect((await reading).bytes).to.equal(0);
        await waitUntil("the session's end", () => lastEndedOrNull("http-flv")?.reason === "viewer-left");
        await waitUntil("NMS to drop the play session", () => nms.playSessions(STREAM) === 0, 5000);
      });
    });

    describe("HLS through the gate's sessions", () => {
      async function openSession(): Promise<{ key: string; media: string }> {
        const wrapper = await httpGetFor(hlsUrl(`/live/${STREAM}/index.m3u8?token=good`), 3000);
        expect(wrapper.status).to.equal(200);
        const key = keyOf(wrapper.body.toString());
        expect(key).to.be.a("string");
        const media = await httpGetFor(hlsUrl(`/live/${STREAM}/index.m3u8?vas=${key}`), 3000);
        expect(media.status).to.equal(200);
        return { key: key!, media: media.body.toString() };
      }
      const segmentsOf = (media: string) => media.split("\n").filter((l) => l !== "" && !l.startsWith("#"));

      it("a token: the playlist checked once, rewritten with the session key; segments only with it", async () => {
        step.delayMs = 0;
        const checksBefore = step.seen.length;
        const { key, media } = await openSession();
        const uris = segmentsOf(media);
        expect(uris.length).to.be.greaterThan(0);
        for (const uri of uris) expect(uri).to.match(new RegExp(`^index\\d+\\.ts\\?vas=${key}$`));
        const segment = await httpGetFor(hlsUrl(`/live/${STREAM}/${uris.at(-1)}`), 3000);
        expect(segment.status).to.equal(200);
        expect(segment.body[0]).to.equal(0x47);
        expect(step.seen.length - checksBefore, "one chain run for the session").to.equal(1);
      });

      it("no session: 403 (or 400/404) and no media on every path form", async () => {
        step.delayMs = 0;
        const { media } = await openSession();
        const segment = segmentsOf(media).at(-1)!.split("?")[0]!;
        const forms = [
          `/live/${STREAM}/index.m3u8`,
          `/live/${STREAM}/${segment}`,
          `/live/${STREAM}/index0.ts`,
          `/live/${STREAM}/index999.ts`,
          `/live/${STREAM}/index.m3u8?token=bad`,
          `/live/${STREAM}/${segment}?token=good`,
          `/live/${STREAM}/${segment}?vas=AAAAAAAAAAAAAAAAAAAAAA`,
          `/live/${STREAM}/${segment}?vas=`,
          `/live/${STREAM}/${segment}?vas[]=x`,
          `/live/${STREAM}/index.mpd`,
          `/live/${STREAM}/INDEX.M3U8`,
          `/LIVE/${STREAM}/index.m3u8`,
          `/live/${STREAM}/index.M3U8`,
          `/live/${STREAM}/%69ndex.m3u8`,
          `/live/${STREAM}/index%2em3u8`,
          `/live/${STREAM}/%2569ndex.m3u8`,
          `/live/x/..%2f${STREAM}/index.m3u8`,
          `/live/x/%2e%2e/${STREAM}/index.m3u8`,
          `/live/x/%252e%252e/${STREAM}/index.m3u8`,
          `/live/x/..%5c${STREAM}/index.m3u8`,
          `/live/${STREAM}/index.m3u8%00`,
          `/live/${STREAM}/index.m3u8%00.png`,
          `/live//${STREAM}/index.m3u8`,
          `//live/${STREAM}/index.m3u8`,
          `/./live/${STREAM}/index.m3u8`,
          `/other/${STREAM}/index.m3u8`,
          `/live/${STREAM}/`,
          `/live/${STREAM}`,
          `/live/`,
          `/live/${STREAM}/index.m3u8/`,
          `/live/${STREAM}/index.m3u8;x`,
          `/live/${STREAM}/index.m3u8?`,
          `/live/${STREAM}/index.m3u8#frag`,
        ];
        for (const form of forms) {
          const result = await rawGet(nms.httpPort, "GET", form);
          expect([400, 403, 404], `${form} → ${result.status}`).to.include(result.status);
          expect(result.body.includes("#EXTM3U") || result.body.includes("\x47\x40"), `${form} leaked media`).to.equal(false);
        }
        for (const method of ["HEAD", "GET"]) {
          const range = await rawGet(nms.httpPort, method, `/live/${STREAM}/${segment}`, { Range: "bytes=0-100" });
          expect(range.status, `${method} with Range, no key`).to.equal(403);
        }
        expect((await rawGet(nms.httpPort, "HEAD", `/live/${STREAM}/index.m3u8`)).status).to.equal(403);
      });

      it("a key serves its own channel only, HEAD and Range included", async () => {
        step.delayMs = 0;
        const { key, media } = await openSession();
        const segment = segmentsOf(media).at(-1)!.split("?")[0]!;
        expect((await rawGet(nms.httpPort, "GET", `/live/other/${segment}?vas=${key}`)).status).to.equal(403);
        const head = await rawGet(nms.httpPort, "HEAD", `/live/${STREAM}/${segment}?vas=${key}`);
        expect(head.status).to.equal(200);
        const range = await rawGet(nms.httpPort, "GET", `/live/${STREAM}/${segment}?vas=${key}`, { Range: "bytes=0-187" });
        expect(range.status).to.equal(206);
        expect(range.bytes).to.equal(188);
      });

      it("an idle session closes: its key then gets 403", async () => {
        step.delayMs = 0;
        const before = new Set(nms.auth.sessions.list({ protocol: "hls" }).map((s) => s.id));
        const { key } = await openSession();
        const opened = nms.auth.sessions.list({ protocol: "hls" }).find((s) => !before.has(s.id))!;
        await waitUntil(
          "the idle close",
          () =>
            nms.logs
              .events("session.end")
              .some(
                (l) =>
                  (l.session as { id?: string; reason?: string }).id === opened.id && (l.session as { reason?: string }).reason === "idle",
              ),
          15000,
        );
        expect((await httpGetFor(hlsUrl(`/live/${STREAM}/index.m3u8?vas=${key}`), 2000)).status).to.equal(403);
      });
    });

    it("a deny on re-check closes an HLS session (its key then gets 403) and cuts an HTTP-FLV viewer", async () => {
      step.delayMs = 0;
      scripted.verdict = { verdict: "allow", reason: "until re-checked", ttlSec: 1 };
      try {
        const wrapper = await httpGetFor(hlsUrl(`/live/${STREAM}/index.m3u8?token=recheck`), 2000);
        expect(wrapper.status).to.equal(200);
        const key = keyOf(wrapper.body.toString())!;
        const viewer = httpGetFor(flvUrl("?token=recheck"), 15000);
        await waitUntil(
          "both sessions playing",
          () =>
            nms.auth.sessions.list().filter((s) => s.state === "playing" && (s.protocol === "hls" || s.protocol === "http-flv")).length >=
            2,
        );
        expect((await httpGetFor(hlsUrl(`/live/${STREAM}/index.m3u8?vas=${key}`), 2000)).status).to.equal(200);
        scripted.verdict = { verdict: "deny", reason: "subscription ended" };
        const cut = await viewer;
        expect(cut.status).to.equal(200);
        expect(cut.bytes, "it played before the re-check").to.be.greaterThan(10000);
        await waitUntil(
          "the HLS session's re-check",
          () =>
            nms.logs
              .events("session.end")
              .some(
                (l) =>
                  (l.session as { protocol?: string; reason?: string }).protocol === "hls" &&
                  (l.session as { reason?: string }).reason === "denied-on-recheck",
              ),
          15000,
        );
        expect((await httpGetFor(hlsUrl(`/live/${STREAM}/index.m3u8?vas=${key}`), 2000)).status).to.equal(403);
      } finally {
        scripted.verdict = { verdict: "pass" };
      }
    });

    it("closing a session from the management API cuts an RTMP, HTTP-FLV, WS-FLV and HLS viewer", async () => {
      step.delayMs = 0;
      const rtmp = playWithFfmpeg(rtmpUrl("?token=good"), { seconds: 30 });
      const flv = httpGetFor(flvUrl("?token=good"), 30000);
      const ws = wsReadFor(wsUrl("?token=good"), 30000);
      const wrapper = await httpGetFor(hlsUrl(`/live/${STREAM}/index.m3u8?token=good`), 2000);
      const key = keyOf(wrapper.body.toString())!;
      let playing: { id: string; protocol: string }[] = [];
      await waitUntil("four playing sessions", () => {
        playing = nms.auth.sessions
          .list()
          .filter((s) => s.state === "playing" && ["rtmp", "http-flv", "ws-flv", "hls"].includes(s.protocol));
        return new Set(playing.map((s) => s.protocol)).size === 4;
      });
      await sleep(500);
      const closedAt = Date.now();
      for (const protocol of ["rtmp", "http-flv", "ws-flv", "hls"]) {
        const id = playing.find((s) => s.protocol === protocol)!.id;
        expect((await api(`/api/sessions/${id}`, { method: "DELETE" })).status, protocol).to.equal(200);
      }
      const flvResult = await flv;
      expect(flvResult.bytes, "the HTTP-FLV viewer had been playing").to.be.greaterThan(0);
      const wsResult = await ws;
      expect(wsResult.closeCode).to.equal(4403);
      const rtmpResult = await rtmp;
      expect(rtmpResult.stdoutBytes).to.be.greaterThan(0);
      expect(Date.now() - closedAt, "every connection cut long before the players' own end").to.be.lessThan(15000);
      expect((await httpGetFor(hlsUrl(`/live/${STREAM}/index.m3u8?vas=${key}`), 2000)).status).to.equal(403);
    });
  });
}

/** One raw HTTP request, the path sent exactly as written; the status and the body as latin1. */
function rawGet(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, body: body.toString("latin1"), bytes: body.length });
      });
    });
    req.setTimeout(5000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on("error", reject);
    req.end();
  });
}
