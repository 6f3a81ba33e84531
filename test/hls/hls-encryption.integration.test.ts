import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { createDecipheriv } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { segmentsOf } from "../../plugin/src/hls/playlist-rewriter.js";
import { startBundledServer, testChannel, waitFor, type RunningServer } from "../helpers/bundled-server.js";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { TokenAuthorizer } from "../helpers/token-authorizer.js";

const KEY_TAG = /#EXT-X-KEY:METHOD=AES-128,URI="([^"]+)"/g;

describe("bundled server: AES-128 encrypted channels with gated, rotating keys (real ffmpeg, real NMS)", function () {
  this.timeout(120_000);
  const step = new TokenAuthorizer();
  let run: RunningServer;
  let scratch: string;
  const get = (path: string, headers: Record<string, string> = {}) => httpGetFor(`${run.httpBase}${path}`, 5000, { headers });

  /** A new session on `channel`: its key. */
  async function open(channel: string): Promise<string> {
    const wrapper = await get(`/live/${channel}/index.m3u8?token=good`);
    expect(wrapper.status).to.equal(200);
    return /vas=([A-Za-z0-9_-]{22})/.exec(wrapper.body.toString())![1]!;
  }

  before(async function () {
    if (!hasFfmpeg) this.skip();
    scratch = mkdtempSync(join(tmpdir(), "va-enc-"));
    const enc = { ...testChannel("enc"), hls: { segmentSec: 1, listSize: 4, encryption: { method: "aes-128", rotateEverySegments: 2 } } };
    run = await startBundledServer(
      { auth: { trustedProxies: ["127.0.0.1"] }, channels: [enc, testChannel("clear")] },
      { authorizers: [step] },
    );
    await waitFor(
      "both channels' playlists",
      () =>
        ["enc", "clear"].every((c) => {
          try {
            return statSync(join(run.dataDir, "hls/live", c, "index.m3u8")).size > 0;
          } catch {
            return false;
          }
        })
          ? true
          : undefined,
      60_000,
    );
  });
  after(async () => {
    await run?.stop();
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  });

  it("keys: 16 bytes, no-store, to a live session of the channel only; 403 and no key byte otherwise", async () => {
    const vas = await open("enc");
    const media = (await get(`/live/enc/index.m3u8?vas=${vas}`)).body.toString();
    const [uri] = [...media.matchAll(KEY_TAG)].map((m) => m[1]!);
    expect(uri).to.match(new RegExp(`^k[0-9a-f]{16}\\.key\\?vas=${vas}$`));
    const key = await get(`/live/enc/${uri}`);
    expect(key.status).to.equal(200);
    expect(key.body.length).to.equal(16);
    expect(key.headers["cache-control"]).to.equal("no-store");
    const name = uri!.split("?")[0]!;
    for (const refused of [
      await get(`/live/enc/${name}`), // no session
      await get(`/live/enc/${name}?vas=${await open("clear")}`), // another channel's session
      await get(`/live/enc/${name}?vas=${vas}`, { "X-Forwarded-For": "198.51.100.9" }), // another address
    ]) {
      expect(refused.status).to.equal(403);
      expect(refused.body.includes(key.body)).to.equal(false);
    }
    // Revoked: key delivery stops at once.
    run.server.auth.hlsKeys!.revoke(vas);
    const after = await get(`/live/enc/${uri}`);
    expect(after.status).to.equal(403);
    expect(after.body.length).to.be.below(16);
  });

  it("keys rotate (at least two rotations seen), are kept outside the HLS folder 0600, and old ones are removed", async () => {
    const vas = await open("enc");
    const seen = new Set<string>();
    await waitFor(
      () => `three keys in the playlist over time (saw ${[...seen].join(",")})`,
      async () => {
        const media = (await get(`/live/enc/index.m3u8?vas=${vas}`)).body.toString();
        for (const m of media.matchAll(KEY_TAG)) seen.add(m[1]!.split("?")[0]!);
        return seen.size >= 3 ? true : undefined;
      },
      40_000,
      300,
    );
    const keysDir = join(run.dataDir, "hls-keys/live/enc");
    expect(statSync(keysDir).mode & 0o777).to.equal(0o700);
    for (const name of readdirSync(keysDir)) expect(statSync(join(keysDir, name)).mode & 0o777, name).to.equal(0o600);
    expect(readdirSync(join(run.dataDir, "hls/live/enc")).some((f) => f.endsWith(".key"))).to.equal(false);
    await waitFor(
      "the first key to be removed once unlisted",
      () => (readdirSync(keysDir).includes([...seen][0]!) ? undefined : true),
      20_000,
    );
  });

  it("a segment decodes with its key and not without it", async () => {
    const vas = await open("enc");
    const media = (await get(`/live/enc/index.m3u8?vas=${vas}`)).body.toString();
    const sequence = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(media)![1]);
    const keyUri = [...media.matchAll(KEY_TAG)][0]![1]!;
    const segment = segmentsOf(media)[0]!;
    // The first listed segment follows the first key tag; its IV is its media sequence number (no IV attribute).
    const body = (await get(`/live/enc/${segment.uri}`)).body;
    const key = (await get(`/live/enc/${keyUri}`)).body;
    const iv = Buffer.alloc(16);
    iv.writeBigUInt64BE(BigInt(sequence), 8);
    const decipher = createDecipheriv("aes-128-cbc", key, iv);
    const clear = Buffer.concat([decipher.update(body), decipher.final()]);
    const clearFile = join(scratch, "clear.ts");
    const encryptedFile = join(scratch, "encrypted.ts");
    writeFileSync(clearFile, clear);
    writeFileSync(encryptedFile, body);
    expect(clear[0]).to.equal(0x47);
    const decoded = spawnSync("ffmpeg", ["-v", "error", "-i", clearFile, "-f", "null", "-"]);
    expect(decoded.status, decoded.stderr.toString()).to.equal(0);
    const probed = spawnSync("ffprobe", ["-v", "error", "-show_streams", "-of", "json", encryptedFile]);
    const streams = probed.status === 0 ? (JSON.parse(probed.stdout.toString()).streams as { codec_type: string }[]) : [];
    expect(streams.some((s) => s.codec_type === "video")).to.equal(false);
  });
});
