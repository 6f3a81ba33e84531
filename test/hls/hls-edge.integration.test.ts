import { expect } from "chai";
import { spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNginxEdge, stopNginx } from "../../bench/nginx-edge.js";
import { startStandaloneGate, type StandaloneGate } from "../../bench/standalone-hls-gate.js";
import { EdgeLinks } from "../../plugin/src/hls/edge-links.js";
import { parseIpAddress } from "../../plugin/src/net/ip-address.js";
import { waitFor } from "../helpers/wait-for.js";
import { hasFfmpeg, playWithFfmpeg } from "../helpers/ffmpeg.js";
import { freePort } from "../helpers/free-port.js";
import { ManualClock } from "../helpers/manual-clock.js";

const NGINX = "/usr/sbin/nginx";
const SECRET = "edge-test-secret-0123456789abcdef";
const EXPIRES_SECONDS = 45;

/** A GET from a given local address (127.0.0.1 unless told), the body read whole. */
async function get(url: string): Promise<{ status: number; body: Buffer; headers: Headers }> {
  const res = await fetch(url);
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

describe("HLS edge mode: the gate serves playlists, a real nginx (samples/nginx-edge.conf) serves signed segments", function () {
  this.timeout(60000);
  let root: string;
  let channelDir: string;
  let nginx: ChildProcess | undefined;
  let nginxBase: string;
  let gate: StandaloneGate;
  const gateUrl = (path: string) => `http://127.0.0.1:${gate.port}${path}`;
  const edgeConfig = () => ({
    baseUrl: nginxBase,
    secret: SECRET,
    expiresSeconds: EXPIRES_SECONDS,
    bindIp: true,
    format: "nginx-secure-link-md5" as const,
  });
  const accessLog = () => readFileSync(join(root, "nginx", "logs", "access.log"), "utf8");

  before(async function () {
    if (!hasFfmpeg || !existsSync(NGINX)) this.skip();
    root = mkdtempSync(join(tmpdir(), "va-hls-edge-"));
    channelDir = join(root, "hls", "live", "ch");
    mkdirSync(channelDir, { recursive: true });
    // A real 4 s VOD rendition in 1 s segments: what ffmpeg plays end to end below.
    const made = spawnSync("ffmpeg", [
      "-hide_banner",
      "-loglevel",
      "error",
      "-f",
      "lavfi",
      "-i",
      "testsrc2=size=160x120:rate=15",
      "-f",
      "lavfi",
      "-i",
      "sine=frequency=440:sample_rate=48000",
      "-t",
      "4",
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-g",
      "15",
      "-pix_fmt",
      "yuv420p",
      "-c:a",
      "aac",
      "-b:a",
      "32k",
      "-f",
      "hls",
      "-hls_time",
      "1",
      "-hls_playlist_type",
      "vod",
      "-hls_segment_filename",
      join(channelDir, "seg_%d.ts"),
      join(channelDir, "index.m3u8"),
    ]);
    expect(made.status, made.stderr?.toString()).to.equal(0);
    // nginx may run as another user: the tree is world-readable.
    for (const dir of [root, join(root, "hls"), join(root, "hls", "live"), channelDir]) chmodSync(dir, 0o755);
    const port = await freePort();
    nginxBase = `http://127.0.0.1:${port}`;
    nginx = startNginxEdge({ prefix: join(root, "nginx"), port, root: join(root, "hls"), secret: SECRET, accessLog: true });
    await waitFor("nginx to listen", async () => ((await fetch(`${nginxBase}/`).catch(() => null))?.status === 403 ? true : undefined));
    gate = await startStandaloneGate(join(root, "hls"), undefined, { edge: edgeConfig() });
  });
  after(async () => {
    await gate?.close();
    await stopNginx(nginx);
    if (root !== undefined) rmSync(root, { recursive: true, force: true });
  });

  async function keyedPlaylist(): Promise<{ key: string; text: string }> {
    const wrapper = await get(gateUrl("/live/ch/index.m3u8"));
    expect(wrapper.status).to.equal(200);
    const key = /index\.m3u8\?vas=([A-Za-z0-9_-]{22})/.exec(wrapper.body.toString())![1]!;
    const media = await get(gateUrl(`/live/ch/index.m3u8?vas=${key}`));
    expect(media.status).to.equal(200);
    const text = media.body.toString();
    expect(Number(media.headers.get("content-length"))).to.equal(media.body.length);
    return { key, text };
  }
  const segmentLines = (text: string) => text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));

  it("the gate's media playlist names every segment on the nginx host, signed for the path, the address and 45 s; nginx serves each one's bytes", async () => {
    const { text } = await keyedPlaylist();
    const files = readdirSync(channelDir)
      .filter((f) => f.endsWith(".ts"))
      .sort();
    const lines = segmentLines(text);
    expect(lines.length).to.equal(files.length).and.to.be.greaterThan(2);
    const nowSec = Math.floor(Date.now() / 1000);
    for (const line of lines) {
      const m = new RegExp(`^${nginxBase}/live/ch/(seg_\\d+\\.ts)\\?md5=[A-Za-z0-9_-]{22}&expires=(\\d+)$`).exec(line);
      expect(m, line).to.not.equal(null);
      expect(Number(m![2])).to.be.within(nowSec + EXPIRES_SECONDS - 5, nowSec + EXPIRES_SECONDS + 1);
      const got = await get(line);
      expect(got.status, line).to.equal(200);
      expect(got.body.equals(readFileSync(join(channelDir, m![1]!)))).to.equal(true);
      expect(got.headers.get("content-type")).to.equal("video/mp2t");
    }
    expect(text).to.not.include("vas="); // no segment is left on the gate
  });

  it("refused by nginx: the link moved to another file → 403, another address → 403, another secret → 403, expired → 410, no token → 403, a playlist → 403", async () => {
    const clock = new ManualClock();
    const localhost = parseIpAddress("127.0.0.1");
    const valid = new EdgeLinks(edgeConfig(), clock).forViewer("live", "ch", localhost)!("seg_1.ts");
    expect((await get(valid)).status, "the same link unedited").to.equal(200);
    expect((await get(valid.replace("/seg_1.ts?", "/seg_2.ts?"))).status, "edited path").to.equal(403);
    expect((await get(valid.replace("/live/ch/", "/live/other/"))).status, "other channel").to.equal(403);
    const otherIp = new EdgeLinks(edgeConfig(), clock).forViewer("live", "ch", parseIpAddress("127.0.0.2"))!("seg_1.ts");
    expect((await get(otherIp)).status, "signed for 127.0.0.2, fetched from 127.0.0.1").to.equal(403);
    const otherSecret = new EdgeLinks({ ...edgeConfig(), secret: "another-secret-0123456789abcdef" }, clock).forViewer(
      "live",
      "ch",
      localhost,
    )!("seg_1.ts");
    expect((await get(otherSecret)).status, "another secret").to.equal(403);
    const expired = new ManualClock(Date.now() - (EXPIRES_SECONDS + 5) * 1000);
    expect((await get(new EdgeLinks(edgeConfig(), expired).forViewer("live", "ch", localhost)!("seg_1.ts"))).status, "expired").to.equal(
      410,
    );
    expect(
      (await get(valid.replace(/expires=(\d+)/, (_, e: string) => `expires=${Number(e) + 3600}`))).status,
      "expiry pushed later",
    ).to.equal(403);
    expect((await get(`${nginxBase}/live/ch/seg_1.ts`)).status, "no token").to.equal(403);
    expect((await get(`${nginxBase}/live/ch/index.m3u8`)).status, "playlists only through the gate").to.equal(403);
  });

  it("without an address to bind to, no link is signed", () => {
    expect(new EdgeLinks(edgeConfig(), new ManualClock()).forViewer("live", "ch", null)).to.equal(null);
    expect(new EdgeLinks({ ...edgeConfig(), bindIp: false }, new ManualClock()).forViewer("live", "ch", null)).to.be.a("function");
  });

  it("playlist refreshes are the session's heartbeat; the segments' bytes are nginx's, the playlists' the gate's", async () => {
    const { key, text } = await keyedPlaylist();
    const session = () =>
      gate.keys.lookup(key, "live", "ch", parseIpAddress("127.0.0.1")) as {
        viewer: { lastActivityAt: number; mediaSince?: number };
        bytesOut: number;
      };
    expect(session().viewer.mediaSince, "a media playlist with edge links counts as playing (its segments never reach the gate)").to.be.a(
      "number",
    );
    const bytesAfterFirst = session().bytesOut;
    expect(bytesAfterFirst, "the wrapper and the media playlist").to.be.greaterThan(Buffer.byteLength(text));
    for (const line of segmentLines(text)) expect((await get(line)).status).to.equal(200);
    expect(session().bytesOut, "segments never touched the gate").to.equal(bytesAfterFirst);
    const before = session().viewer.lastActivityAt;
    await waitFor("the clock to move", () => (Date.now() > before + 5 ? true : undefined));
    expect((await get(gateUrl(`/live/ch/index.m3u8?vas=${key}`))).status).to.equal(200);
    expect(session().viewer.lastActivityAt).to.be.greaterThan(before);
    // The key still works on the gate's own playlist path, and nowhere else.
    expect((await get(gateUrl(`/live/other/index.m3u8?vas=${key}`))).status).to.equal(403);
  });

  it("ffmpeg plays the whole channel end to end: token-less playlist on the gate → keyed playlist → every segment from nginx", async () => {
    const segments = readdirSync(channelDir).filter((f) => f.endsWith(".ts"));
    const servedBefore = accessLog()
      .split("\n")
      .filter((l) => / 20[06] /.test(l) && /\.ts\?md5=/.test(l)).length;
    const played = await playWithFfmpeg(gateUrl("/live/ch/index.m3u8"), { seconds: 30, decode: true });
    expect(played.code, played.stderr).to.equal(0);
    expect(played.frames, "4 s at 15 fps").to.be.within(55, 61);
    await waitFor("nginx's access log", () => {
      const served = accessLog()
        .split("\n")
        .filter((l) => / 20[06] /.test(l) && /\.ts\?md5=/.test(l)).length;
      return served - servedBefore >= segments.length ? true : undefined;
    }).catch((error: Error) => {
      throw new Error(`${error.message}\n${accessLog()}\n${played.stderr.slice(-3000)}`);
    });
  });
});
