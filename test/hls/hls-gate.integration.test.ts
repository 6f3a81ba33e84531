import { expect } from "chai";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startBundledServer, waitFor, type RunningServer } from "../helpers/bundled-server.js";
import { hasFfmpeg, playWithFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { TokenAuthorizer } from "../helpers/token-authorizer.js";
import { sleep } from "../helpers/sleep.js";

const keyOf = (playlist: string) => /vas=([A-Za-z0-9_-]+)/.exec(playlist)?.[1];

describe("bundled server: HLS through the gate (real ffmpeg, real NMS)", function () {
  this.timeout(90000);
  const step = new TokenAuthorizer();
  let run: RunningServer;
  const url = (path: string) => `${run.httpBase}${path}`;

  before(async function () {
    if (!hasFfmpeg) this.skip();
    run = await startBundledServer({ hls: { sessionIdleSec: 2, ipBinding: "exact" } }, { authorizers: [step] });
    await waitFor("the first HLS segments", () => (existsSync(join(run.dataDir, "hls/live/test/index.m3u8")) ? true : undefined));
  });
  after(async () => run?.stop());
  beforeEach(() => (step.delayMs = 0));

  async function openSession(): Promise<{ key: string; media: string }> {
    const wrapper = await httpGetFor(url("/live/test/index.m3u8?token=good"), 3000);
    expect(wrapper.status).to.equal(200);
    const key = keyOf(wrapper.body.toString());
    expect(key).to.be.a("string");
    const media = await httpGetFor(url(`/live/test/index.m3u8?vas=${key}`), 3000);
    expect(media.status).to.equal(200);
    return { key: key!, media: media.body.toString() };
  }

  it("without credentials: 403 and no playlist body, even when the chain takes 500 ms", async () => {
    step.delayMs = 500;
    const result = await httpGetFor(url("/live/test/index.m3u8"), 3000);
    expect(result.status).to.equal(403);
    expect(result.body.toString()).to.equal("Forbidden\n");
    expect(run.logs.events("auth.decision").at(-1)).to.include({ protocol: "hls", verdict: "deny", step: "default" });
  });

  it("with a token: a playlist whose every URI carries the session key, with the right headers", async () => {
    const wrapper = await httpGetFor(url("/live/test/index.m3u8?token=good"), 3000);
    expect(wrapper.headers["content-type"]).to.equal("application/vnd.apple.mpegurl");
    expect(wrapper.headers["cache-control"]).to.equal("private, no-store");
    const text = wrapper.body.toString();
    expect(text).to.match(/^#EXTM3U\n/);
    expect(text).to.match(/#EXT-X-STREAM-INF:BANDWIDTH=\d+[^\n]*\nindex\.m3u8\?vas=[A-Za-z0-9_-]{22}\n/);
    const key = keyOf(text)!;
    const media = (await httpGetFor(url(`/live/test/index.m3u8?vas=${key}`), 3000)).body.toString();
    const uris = media.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
    expect(uris.length).to.be.greaterThan(0);
    for (const uri of uris) expect(uri).to.match(new RegExp(`^seg_\\d+\\.ts\\?vas=${key}$`));
    const segment = await httpGetFor(url(`/live/test/${uris[0]}`), 3000);
    expect(segment.status).to.equal(200);
    expect(segment.headers["content-type"]).to.equal("video/mp2t");
    expect(segment.headers["cache-control"]).to.equal("private, max-age=60");
    expect(segment.body[0]).to.equal(0x47); // MPEG-TS sync byte
  });

  it("ffmpeg decodes the stream, following the rewritten playlists as a player does", async () => {
    const result = await playWithFfmpeg(url("/live/test/index.m3u8?token=good"), { seconds: 4, decode: true });
    expect(result.code, result.stderr.slice(-500)).to.equal(0);
    expect(result.frames).to.be.greaterThan(30);
    expect(step.seen.filter((r) => r.protocol === "hls").length, "chain runs once per session, not per reload").to.be.greaterThan(0);
  });

  it("checks segment and playlist requests against the live session only", async () => {
    const { key, media } = await openSession();
    const checksBefore = step.seen.length;
    const segment = media
      .split("\n")
      .find((l) => l.startsWith("seg_"))!
      .split("?")[0]!;
    expect((await httpGetFor(url(`/live/test/${segment}`), 2000)).status, "no key").to.equal(403);
    expect((await httpGetFor(url(`/live/test/${segment}?vas=AAAAAAAAAAAAAAAAAAAAAA`), 2000)).status, "forged key").to.equal(403);
    expect((await httpGetFor(url(`/live/test/${segment}?vas=${key}&token=good`), 2000)).status, "token beside key").to.equal(200);
    expect(
      (await httpGetFor(url(`/live/test/${segment}?vas=${key}`), 2000, { localAddress: "127.0.0.2" })).status,
      "another address",
    ).to.equal(403);
    expect((await httpGetFor(url(`/live/test/${segment}?token=good`), 2000)).status, "token on a segment").to.equal(403);
    expect(step.seen.length, "no chain run for keyed requests").to.equal(checksBefore);
  });

  it("lists the HLS session in the registry, counting its bytes", async () => {
    const { key, media } = await openSession();
    const segment = media.split("\n").find((l) => l.startsWith("seg_"))!;
    const got = await httpGetFor(url(`/live/test/${segment}`), 2000);
    const session = run.server.auth.sessions
      .list()
      .find((s) => s.protocol === "hls" && s.state === "playing" && s.identity?.userId === "u1");
    expect(session).to.not.equal(undefined);
    expect(session!.transport.bytesOut()).to.be.greaterThanOrEqual(got.bytes);
    expect(key).to.not.equal(session!.id, "the session key is not the id shown to backends");
  });

  it("a configuration reload changes the address binding of sessions already open", async () => {
    const { key } = await openSession();
    const fromNeighbour = async () =>
      (await httpGetFor(url(`/live/test/index.m3u8?vas=${key}`), 2000, { localAddress: "127.0.0.2" })).status;
    expect(await fromNeighbour(), "exact binding").to.equal(403);
    const current = run.server.auth.config;
    const outcome = run.server.auth.reloadResolved({ ...current, hls: { ...current.hls, ipBinding: "subnet" } });
    expect(outcome).to.deep.equal({ applied: ["hls.ipBinding"], restartNeeded: [] });
    expect(await fromNeighbour(), "same /24 under subnet binding").to.equal(200);
    run.server.auth.reloadResolved(current);
    expect(await fromNeighbour(), "exact again").to.equal(403);
  });

  it("closes a session idle past its time; its key then gets 403", async () => {
    const { key } = await openSession();
    await sleep(3500);
    expect((await httpGetFor(url(`/live/test/index.m3u8?vas=${key}`), 2000)).status).to.equal(403);
    const idle = run.logs
      .events("session.end")
      .map((l) => l.session as Record<string, unknown>)
      .filter((s) => s.reason === "idle");
    expect(idle.length).to.be.greaterThan(0);
  });

  it("unknown channel → 404; wrong method → 405", async () => {
    expect((await httpGetFor(url("/live/nope/index.m3u8?token=good"), 2000)).status).to.equal(404);
    expect((await httpGetFor(url("/live/test/missing.ts?token=good"), 2000)).status).to.equal(403);
  });

  it("refuses every traversal form without reading outside the channel directory", async () => {
    const marker = "SECRET-OUTSIDE-CHANNEL";
    writeFileSync(join(run.dataDir, "hls", "secret.ts"), marker);
    writeFileSync(join(run.dataDir, "secret.m3u8"), marker);
    const { key } = await openSession();
    const forms = [
      "/live/test/../secret.ts",
      "/live/test/..%2fsecret.ts",
      "/live/test/%2e%2e/%2e%2e/secret.m3u8",
      "/live/test/%2E%2E%2Fsecret.ts",
      "/live/test/%252e%252e%252fsecret.ts",
      "/live/test/..\\..\\secret.ts",
      "/live/test/%5c..%5csecret.ts",
      "/live/test/secret.ts%00.m3u8",
      "/live/test//etc/passwd",
      "/live/test/./index.m3u8",
      "/../../etc/passwd",
      "/live/test/%c0%ae%c0%ae/secret.ts",
      "/live/test/%zz.ts",
    ];
    for (const form of forms) {
      const result = await httpGetFor(url(`${form}?vas=${key}`), 2000);
      expect([400, 404], form).to.include(result.status);
      expect(result.body.toString(), form).to.not.include(marker);
    }
  });

  it("restarts a channel's killed ffmpeg and the playlist advances again", async () => {
    const channel = run.server.channels[0]!;
    const sequence = async () => {
      const { media } = await openSession();
      return Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(media)?.[1]);
    };
    const before = await sequence();
    const pid = channel.packager.pid!;
    expect(pid).to.be.a("number");
    process.kill(pid, "SIGKILL");
    await waitFor("the packager to restart", () =>
      channel.packager.pid !== undefined && channel.packager.pid !== pid && channel.status().packager.state === "up" ? true : undefined,
    );
    expect(channel.status().packager.restarts).to.be.greaterThan(0);
    await waitFor("the playlist to advance", async () => ((await sequence()) > before + 1 ? true : undefined));
    expect(run.logs.events("channel.process_down").length).to.be.greaterThan(0);
  });
});

describe("HLS gate: unknown channels and missing playlists (no ffmpeg: a playlist written by the test)", function () {
  this.timeout(30000);
  const step = new TokenAuthorizer();
  let run: RunningServer;
  const url = (path: string) => `${run.httpBase}${path}`;
  const playingHls = () => run.server.auth.sessions.list().filter((s) => s.protocol === "hls" && s.state === "playing");
  /** Writes `<hls dir>/live/known/`: a media playlist of one segment, as a packager would. */
  const writeKnownChannel = () => {
    const dir = join(run.dataDir, "hls", "live", "known");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "seg_1.ts"), Buffer.alloc(18800, 0x47));
    writeFileSync(
      join(dir, "index.m3u8"),
      "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:2.0,\nseg_1.ts\n",
    );
  };
  /** What a viewer can observe of an answer, to compare two of them. */
  const observable = async (path: string) => {
    const got = await httpGetFor(url(path), 2000);
    const { date: _date, ...headers } = got.headers;
    return { status: got.status, headers, body: got.body.toString() };
  };
  afterEach(async () => {
    await run?.stop();
    run = undefined as unknown as RunningServer;
  });

  it("by default a refused viewer gets the same 403 for an unknown channel as for a known one, and the chain decides both", async () => {
    run = await startBundledServer({ channels: [] }, { authorizers: [step] });
    writeKnownChannel();
    expect(run.server.auth.config.hls.hideUnknownChannels).to.equal(true);
    const known = await observable("/live/known/index.m3u8?token=stolen");
    expect(known.status).to.equal(403);
    expect(await observable("/live/unknown/index.m3u8?token=stolen")).to.deep.equal(known);
    expect(await observable("/live/unknown/seg_1.ts")).to.deep.equal(await observable("/live/known/seg_1.ts"));
    const decided = run.logs.events("auth.decision").map((l) => `${String(l.channel)}:${String(l.verdict)}`);
    expect(decided).to.include.members(["known:deny", "unknown:deny"]);
  });

  it("an allowed viewer of a missing playlist gets 404 and no session: the address limit still admits a real one", async () => {
    run = await startBundledServer({ channels: [], sessions: { maxPerIp: 1 } }, { authorizers: [step] });
    writeKnownChannel();
    for (const path of ["/live/unknown/index.m3u8?token=good", "/live/known/other.m3u8?token=good"]) {
      expect((await httpGetFor(url(path), 2000)).status, path).to.equal(404);
    }
    expect(playingHls(), "no playing session for a missing playlist").to.deep.equal([]);
    const ended = run.logs.events("session.end").map((l) => l.session as { channel: string; reason: string });
    expect(ended.filter((s) => s.reason === "not-found").map((s) => s.channel)).to.deep.equal(["unknown", "known"]);
    expect((await httpGetFor(url("/live/known/index.m3u8?token=good"), 2000)).status, "within maxPerIp 1").to.equal(200);
    expect(playingHls()).to.have.length(1);
    expect((await httpGetFor(url("/live/known/index.m3u8?token=good"), 2000)).status, "the limit is in force").to.equal(403);
  });

  it("with hideUnknownChannels: false an unknown channel is answered 404 before the chain runs", async () => {
    run = await startBundledServer({ channels: [], hls: { hideUnknownChannels: false } }, { authorizers: [step] });
    writeKnownChannel();
    const checksBefore = step.seen.length;
    expect((await httpGetFor(url("/live/unknown/index.m3u8?token=stolen"), 2000)).status).to.equal(404);
    expect((await httpGetFor(url("/live/unknown/seg_1.ts"), 2000)).status).to.equal(404);
    expect(step.seen.length, "no chain run for an unknown channel").to.equal(checksBefore);
    expect((await httpGetFor(url("/live/known/index.m3u8?token=stolen"), 2000)).status).to.equal(403);
  });
});
