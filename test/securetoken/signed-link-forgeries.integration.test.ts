import { expect } from "chai";
import type { ChildProcess } from "node:child_process";
import { makeSecureLink } from "../../plugin/src/index.js";
import { hasFfmpeg, publishTestPattern, stopProcess } from "../helpers/ffmpeg.js";
import { httpGetFor, type HttpFlvResult } from "../helpers/flv-clients.js";
import { startLineNms, startNms, startPublishingNms, type LineNms, type NmsInstance } from "../helpers/nms-instance.js";
import { waitFor } from "../helpers/wait-for.js";
import { TEST_API_TOKEN } from "../helpers/api-tokens.js";
import { apiFetch } from "../helpers/openapi-check.js";

const SECRET = "forgery-play-secret-3f9a";
const PUBLISH_SECRET = "forgery-publish-secret-7c21";
const API_TOKEN = TEST_API_TOKEN;

/** A signed link's token split into its fields (astra and flussonic: hash-salt-end-start). */
function fieldsOf(link: string, param = "token") {
  const value = new URL(link).searchParams.get(param)!;
  const [hash, salt, end, start] = value.split("-") as [string, string, string, string];
  return { value, hash, salt, end, start };
}
const upper = (s: string) => s.replace(/[a-f]/g, (c) => c.toUpperCase());
/** A start time (Unix seconds) two hours ago that does not end in 0, so moving its last digit makes no leading zero. */
function twoHoursAgoSec(): number {
  const sec = Math.floor(Date.now() / 1000) - 7200;
  return sec % 10 === 0 ? sec - 1 : sec;
}
/** expired → "permanent": the last digit of start moved to the front of end (the hash stays the same). */
function expiredToPermanent(link: string): string {
  const { hash, salt, end, start } = fieldsOf(link);
  return `${hash}-${salt}-${start.slice(-1)}${end}-${start.slice(0, -1)}`;
}
/** The first digit of start moved off it (onto the subject or the address that precede it in the hash). */
function firstStartDigitMoved(link: string): { token: string; digit: string } {
  const { hash, salt, end, start } = fieldsOf(link);
  return { token: `${hash}-${salt}-${end}-${start.slice(1)}`, digit: start[0]! };
}
/** A refusal with no media: 403 and neither an FLV header nor a playlist in the body. */
function expectRefusedWithoutMedia(result: HttpFlvResult, what: string): void {
  expect(result.status, `${what}: status`).to.equal(403);
  expect(result.body.subarray(0, 3).toString(), `${what}: no FLV`).to.not.equal("FLV");
  expect(result.body.toString(), `${what}: no playlist`).to.not.include("#EXTM3U");
}

(hasFfmpeg ? describe : describe.skip)("forged re-readings of signed links and revoked credentials through a real NMS 4.4.3", function () {
  this.timeout(120_000);

  describe("bound links (astra, bindIp true) and revocation by credential identity, over HTTP-FLV and HLS", () => {
    let nms: LineNms;
    const flv = (query: string, channel = "ch1") => `http://127.0.0.1:${nms.httpPort}/live/${channel}.flv?${query}`;
    const hls = (query: string, channel = "ch1") => `http://127.0.0.1:${nms.httpPort}/live/${channel}/index.m3u8?${query}`;
    const link = (url: string, over: { nowMs?: number; lifetimeSec?: number } = {}) =>
      makeSecureLink({ url, ip: "127.0.0.1", secret: SECRET, lifetimeSec: 600, ...over });
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await apiFetch(`http://127.0.0.1:${nms.auth.api!.port}${path}`, {
        method,
        headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json()) as any };
    };

    before(async () => {
      nms = await startLineNms("4.4.3", {
        auth: {
          defaultAction: "deny",
          users: [{ login: "alice", tokens: ["alice-token-0001"], packages: ["*"] }],
          securetoken: { format: "astra", secrets: [SECRET] },
          // The forgeries below are counted; a ban would hide what each one gets on its own.
          bruteForce: { enabled: false },
        },
        api: { enabled: true, port: 0, token: API_TOKEN },
      });
      await nms.auth.ready;
      await nms.publish("ch1");
    });
    after(async () => nms?.stop());

    it("a genuine link plays over HTTP-FLV and HLS", async () => {
      const played = await httpGetFor(link(`http://127.0.0.1:${nms.httpPort}/live/ch1.flv`), 800);
      expect(played.status).to.equal(200);
      expect(played.body.subarray(0, 3).toString()).to.equal("FLV");
      const playlist = await httpGetFor(link(`http://127.0.0.1:${nms.httpPort}/live/ch1/index.m3u8`), 2000);
      expect(playlist.status).to.equal(200);
      expect(playlist.body.toString()).to.include("#EXTM3U");
    });

    it("expired → permanent: a link issued two hours ago for 60 s, its start's last digit moved onto end, is refused", async () => {
      const nowMs = twoHoursAgoSec() * 1000;
      const viaFlv = link(`http://127.0.0.1:${nms.httpPort}/live/ch1.flv`, { nowMs, lifetimeSec: 60 });
      const viaHls = link(`http://127.0.0.1:${nms.httpPort}/live/ch1/index.m3u8`, { nowMs, lifetimeSec: 60 });
      expectRefusedWithoutMedia(await httpGetFor(flv(`token=${expiredToPermanent(viaFlv)}`), 1000), "HTTP-FLV");
      expectRefusedWithoutMedia(await httpGetFor(hls(`token=${expiredToPermanent(viaHls)}`), 1000), "HLS");
      const decision = nms.logs.events("auth.decision").at(-1)!;
      expect(decision).to.include({ step: "securetoken", verdict: "deny" });
      expect(String(decision.reason)).to.not.include("3611");
    });

    it("another address: a link bound to 127.0.0.1, its start's first digit moved onto the address, is refused from 127.0.0.11", async () => {
      const viaFlv = firstStartDigitMoved(link(`http://127.0.0.1:${nms.httpPort}/live/ch1.flv`));
      const viaHls = firstStartDigitMoved(link(`http://127.0.0.1:${nms.httpPort}/live/ch1/index.m3u8`));
      expect(viaFlv.digit).to.equal("1");
      const from = { localAddress: "127.0.0.11" };
      expectRefusedWithoutMedia(await httpGetFor(flv(`token=${viaFlv.token}`), 1000, from), "HTTP-FLV");
      expectRefusedWithoutMedia(await httpGetFor(hls(`token=${viaHls.token}`), 1000, from), "HLS");
      expect(nms.logs.events("auth.decision").at(-1)).to.include({ ip: "127.0.0.11", step: "securetoken", verdict: "deny" });
    });

    it("a revoked link stays refused in every spelling and behind a repeated parameter, and plays again once lifted by its digest", async () => {
      const flvLink = link(`http://127.0.0.1:${nms.httpPort}/live/ch1.flv`);
      const hlsLink = link(`http://127.0.0.1:${nms.httpPort}/live/ch1/index.m3u8`);
      const { hash, salt, end, start, value } = fieldsOf(flvLink);
      expect((await httpGetFor(flvLink, 500)).status).to.equal(200);
      // Revoked as pasted in another spelling: upper-case hex, and the HLS one as a whole link.
      expect((await api("POST", "/api/sessions/revoke", { token: upper(value), ttlSec: 600 })).status).to.equal(200);
      expect((await api("POST", "/api/sessions/revoke", { token: hlsLink, ttlSec: 600 })).status).to.equal(200);
      const hlsFields = fieldsOf(hlsLink);
      const replays: [string, string][] = [
        ["HTTP-FLV as issued", flv(`token=${value}`)],
        ["HTTP-FLV upper-case hex", flv(`token=${upper(hash)}-${salt}-${end}-${start}`)],
        ["HTTP-FLV leading zero on end", flv(`token=${hash}-${salt}-0${end}-${start}`)],
        ["HTTP-FLV leading zero on start", flv(`token=${hash}-${salt}-${end}-0${start}`)],
        ["HTTP-FLV parameter name in upper case", flv(`TOKEN=${value}`)],
        ["HLS as issued", hls(`token=${hlsFields.value}`)],
        ["HLS upper-case hex", hls(`token=${upper(hlsFields.hash)}-${hlsFields.salt}-${hlsFields.end}-${hlsFields.start}`)],
        ["HLS leading zero on start", hls(`token=${hlsFields.hash}-${hlsFields.salt}-${hlsFields.end}-0${hlsFields.start}`)],
      ];
      for (const [what, url] of replays) {
        const before = nms.logs.events("gate.revoked_refused").length;
        expectRefusedWithoutMedia(await httpGetFor(url, 1000), what);
        expect(nms.logs.events("gate.revoked_refused").length, `${what}: refused as revoked`).to.equal(before + 1);
      }
      // The same parameter twice: steps read the first value, a backend may read the last.
      for (const url of [flv(`token=alice-token-0001&token=${value}`), hls(`token=alice-token-0001&token=${hlsFields.value}`)]) {
        expectRefusedWithoutMedia(await httpGetFor(url, 1000), url);
        expect(nms.logs.events("gate.credential_repeated").at(-1)).to.include({
          reason: 'credential parameter "token" given more than once',
        });
      }
      expect(
        (await httpGetFor(flv("token=alice-token-0001&token=alice-token-0001"), 500)).status,
        "the same value twice is harmless",
      ).to.equal(200);
      const listed = (await api("GET", "/api/revocations")).json.revocations as { kind: string; tokenDigest: string }[];
      expect(listed).to.have.length(2);
      expect(JSON.stringify(listed)).to.not.include(hash);
      // Lift the FLV link by the digest the list shows, the HLS one by pasting it in yet another spelling.
      const lifted = await Promise.all(listed.map((r) => api("DELETE", `/api/revocations/token-digest/${r.tokenDigest}`)));
      expect(lifted.map((r) => r.status)).to.deep.equal([200, 200]);
      expect((await httpGetFor(flvLink, 500)).status).to.equal(200);
      expect((await httpGetFor(hlsLink, 2000)).status).to.equal(200);
    });
  });

  describe("unbound links (flussonic, bindIp false): a ch1 link is refused on ch11", () => {
    let nms: LineNms;
    before(async () => {
      nms = await startLineNms("4.4.3", {
        auth: {
          defaultAction: "deny",
          securetoken: { format: "flussonic", secrets: [SECRET], bindIp: false },
          bruteForce: { enabled: false },
        },
      });
      await nms.auth.ready;
      await nms.publish("ch1");
      await nms.publish("ch11");
    });
    after(async () => nms?.stop());

    it("the first digit of start moved onto the channel: ch1's link refused for ch11 over HTTP-FLV and HLS, while it plays ch1", async () => {
      const made = (path: string) =>
        makeSecureLink({ url: `http://127.0.0.1:${nms.httpPort}${path}`, secret: SECRET, lifetimeSec: 600, format: "flussonic" });
      const flvLink = made("/live/ch1.flv");
      expect((await httpGetFor(flvLink, 500)).status).to.equal(200);
      const moved = firstStartDigitMoved(flvLink);
      expect(moved.digit).to.equal("1");
      expectRefusedWithoutMedia(
        await httpGetFor(`http://127.0.0.1:${nms.httpPort}/live/ch11.flv?token=${moved.token}`, 1000),
        "HTTP-FLV on ch11",
      );
      const hlsMoved = firstStartDigitMoved(made("/live/ch1/index.m3u8"));
      expectRefusedWithoutMedia(
        await httpGetFor(`http://127.0.0.1:${nms.httpPort}/live/ch11/index.m3u8?token=${hlsMoved.token}`, 1000),
        "HLS on ch11",
      );
      expect(nms.logs.events("auth.decision").at(-1)).to.include({ channel: "ch11", step: "securetoken", verdict: "deny" });
      // Expired → permanent, unbound: refused as well.
      const expired = makeSecureLink({
        url: `http://127.0.0.1:${nms.httpPort}/live/ch1.flv`,
        secret: SECRET,
        lifetimeSec: 60,
        format: "flussonic",
        nowMs: twoHoursAgoSec() * 1000,
      });
      expectRefusedWithoutMedia(
        await httpGetFor(`http://127.0.0.1:${nms.httpPort}/live/ch1.flv?token=${expiredToPermanent(expired)}`, 1000),
        "HTTP-FLV expired → permanent",
      );
    });
  });

  describe("nms sign: revoked, then replayed in ?sign= (which revocation did not read)", () => {
    let nms: NmsInstance;
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await apiFetch(`http://127.0.0.1:${nms.auth.api!.port}${path}`, {
        method,
        headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json()) as any };
    };
    before(async () => {
      nms = await startPublishingNms(
        {
          auth: { defaultAction: "deny", securetoken: { format: "nms", secrets: [SECRET] }, bruteForce: { enabled: false } },
          api: { enabled: true, port: 0, token: API_TOKEN },
        },
        "live/ch1",
      );
      await nms.auth.ready;
    });
    after(async () => nms?.stop());

    it("refuses the revoked sign over HTTP-FLV, closes its session, and lifts it by the value", async () => {
      const signed = makeSecureLink({
        url: `http://127.0.0.1:${nms.httpPort}/live/ch1.flv`,
        secret: SECRET,
        lifetimeSec: 600,
        format: "nms",
      });
      const sign = new URL(signed).searchParams.get("sign")!;
      const abort = new AbortController();
      const playing = httpGetFor(signed, 30_000, { abortSignal: abort.signal });
      await waitFor("the sign viewer playing", () => (nms.auth.sessions.count({ state: "playing" }) === 1 ? true : undefined));
      // Revoked by its value, as the API always took a credential.
      const revoked = await api("POST", "/api/sessions/revoke", { token: sign });
      expect(revoked.status).to.equal(200);
      expect(revoked.json.closed, "the playing session is closed").to.have.length(1);
      expect((await playing).bytes).to.be.above(0);
      expectRefusedWithoutMedia(await httpGetFor(signed, 1000), "the revoked sign");
      expect(nms.logs.events("gate.revoked_refused").length).to.equal(1);
      expect(
        (await api("DELETE", `/api/revocations/token/${encodeURIComponent(`sign=${sign}`)}`)).status,
        "lifted by the sign= pair",
      ).to.equal(200);
      expect((await httpGetFor(signed, 500)).status).to.equal(200);
      // Revoked again as {"sign"}, in upper-case hex: the same key.
      expect((await api("POST", "/api/sessions/revoke", { sign: upper(sign) })).status).to.equal(200);
      expectRefusedWithoutMedia(await httpGetFor(signed, 1000), "the sign revoked in upper case");
      expect(nms.logs.events("gate.revoked_refused").length).to.equal(2);
      abort.abort();
    });
  });

  describe("publish links (bindIp false): re-read links refused", () => {
    let nms: NmsInstance;
    const publishers: ChildProcess[] = [];
    before(async () => {
      nms = await startNms({
        auth: { allowIps: ["127.0.0.1/32"] },
        publish: { allowIps: [], securetoken: { secrets: [PUBLISH_SECRET], bindIp: false } },
      });
    });
    afterEach(async () => {
      await Promise.all(publishers.splice(0).map((p) => stopProcess(p)));
    });
    after(async () => nms?.stop());
    const publishLink = (name: string, over: { nowMs?: number; lifetimeSec?: number } = {}) =>
      makeSecureLink({
        url: `rtmp://127.0.0.1:${nms.rtmpPort}/live/${name}`,
        secret: PUBLISH_SECRET,
        lifetimeSec: 600,
        publish: true,
        ...over,
      });
    const decisionFor = (name: string) =>
      waitFor(`the publish decision for ${name}`, () => nms.logs.events("publish.decision").find((l) => l.channel === name));
    const exited = (child: ChildProcess) =>
      new Promise<number | null>((resolve) =>
        child.exitCode !== null ? resolve(child.exitCode) : child.once("exit", (code) => resolve(code)),
      );

    it("a cam1 link with start's first digit moved onto the name: publishing cam11 is refused; an expired one made permanent too", async () => {
      const moved = firstStartDigitMoved(publishLink("cam1"));
      expect(moved.digit).to.equal("1");
      const intruder = publishTestPattern(`rtmp://127.0.0.1:${nms.rtmpPort}/live/cam11?token=${moved.token}`);
      publishers.push(intruder);
      expect(await decisionFor("cam11")).to.include({ verdict: "deny", reason: "signature-forged" });
      expect(await exited(intruder), "ffmpeg failed to publish").to.not.equal(0);
      const expired = expiredToPermanent(publishLink("cam2", { nowMs: twoHoursAgoSec() * 1000, lifetimeSec: 60 }));
      const late = publishTestPattern(`rtmp://127.0.0.1:${nms.rtmpPort}/live/cam2?token=${expired}`);
      publishers.push(late);
      expect(await decisionFor("cam2")).to.include({ verdict: "deny", reason: "signature-forged" });
      expect(await exited(late)).to.not.equal(0);
      // The genuine link publishes.
      const genuine = publishTestPattern(publishLink("cam3"));
      publishers.push(genuine);
      expect(await decisionFor("cam3")).to.include({ verdict: "allow", reason: "signed" });
    });
  });
});
