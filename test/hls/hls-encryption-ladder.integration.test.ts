import { expect } from "chai";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { avcCodecOf } from "../../server/src/channels/master-playlist.js";
import { startBundledServer, testChannel, waitFor, type RunningServer } from "../helpers/bundled-server.js";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { decryptSegment, firstVideoFrameOf, keyedSegmentsOf, runAsync } from "../helpers/hls-decrypt.js";
import { TokenAuthorizer } from "../helpers/token-authorizer.js";

/** A cheap ladder: 320x180 / 256x144, ultrafast. */
const LADDER = [
  { name: "180p", width: 320, height: 180, videoBitrateKbps: 250, audioBitrateKbps: 48, profile: "main", preset: "ultrafast" },
  { name: "144p", width: 256, height: 144, videoBitrateKbps: 120, audioBitrateKbps: 32, profile: "baseline", preset: "ultrafast" },
];
const ROTATE_EVERY = 2;

/** A master playlist's variants: attributes (quotes removed) and URI. */
function variantsOf(master: string): { attributes: Record<string, string>; uri: string }[] {
  const lines = master.split("\n");
  return lines.flatMap((line, i) => {
    if (!line.startsWith("#EXT-X-STREAM-INF:")) return [];
    const attributes: Record<string, string> = {};
    for (const m of line.slice(18).matchAll(/([A-Z-]+)=("[^"]*"|[^,]*)/g)) attributes[m[1]!] = m[2]!.replace(/^"|"$/g, "");
    return [{ attributes, uri: lines[i + 1]! }];
  });
}

describe("bundled server: an encrypted adaptive ladder (real ffmpeg, real NMS)", function () {
  this.timeout(180_000);
  const step = new TokenAuthorizer();
  let run: RunningServer;
  let scratch: string;
  const get = (path: string) => httpGetFor(`${run.httpBase}${path}`, 5000);

  before(async function () {
    if (!hasFfmpeg) this.skip();
    scratch = mkdtempSync(join(tmpdir(), "va-enc-ladder-"));
    const ladder = {
      ...testChannel("eladder"),
      source: { type: "testPattern", width: 320, height: 180, fps: 15 },
      transcode: { mode: "h264", videoBitrateKbps: 300, audioBitrateKbps: 48, preset: "ultrafast" },
      hls: { segmentSec: 1, listSize: 4, encryption: { method: "aes-128", rotateEverySegments: ROTATE_EVERY } },
      renditions: LADDER,
    };
    run = await startBundledServer({ channels: [ladder] }, { authorizers: [step] });
    await waitFor(
      "the ladder's master playlist",
      () => (existsSync(join(run.dataDir, "hls/live/eladder/index.m3u8")) ? true : undefined),
      90_000,
    );
  });
  after(async () => {
    await run?.stop();
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  });

  /** The master through the gate for a new viewer, its session key and variants. */
  async function openLadder() {
    const master = await get("/live/eladder/index.m3u8?token=good");
    expect(master.status).to.equal(200);
    const key = /vas=([A-Za-z0-9_-]{22})/.exec(master.body.toString())![1]!;
    return { key, variants: variantsOf(master.body.toString()) };
  }

  it("every rendition is encrypted: keys 16 bytes no-store with the session, 403 without; each segment decodes with its key only", async () => {
    const { key: vas, variants } = await openLadder();
    expect(variants.map((v) => v.uri.split("?")[0])).to.deep.equal(LADDER.map((r) => `${r.name}.m3u8`));
    for (const [i, variant] of variants.entries()) {
      const rendition = LADDER[i]!;
      const media = await get(`/live/eladder/${variant.uri}`);
      expect(media.status).to.equal(200);
      const segments = keyedSegmentsOf(media.body.toString());
      expect(segments.length, rendition.name).to.be.greaterThan(0);
      for (const s of segments)
        expect(s.keyUri, `${rendition.name} ${s.uri}: a key for every segment`).to.match(/^k[0-9a-f]{16}\.key\?vas=/);
      const segment = segments[0]!;
      const keyUri = segment.keyUri!;
      expect(keyUri).to.equal(`${keyUri.split("?")[0]}?vas=${vas}`);

      const key = await get(`/live/eladder/${keyUri}`);
      expect(key.status).to.equal(200);
      expect(key.body.length).to.equal(16);
      expect(key.headers["cache-control"]).to.equal("no-store");
      const refused = await get(`/live/eladder/${keyUri.split("?")[0]}`);
      expect(refused.status).to.equal(403);
      expect(refused.body.includes(key.body)).to.equal(false);

      const body = (await get(`/live/eladder/${segment.uri}`)).body;
      const encryptedFile = join(scratch, `${rendition.name}-encrypted.ts`);
      const clearFile = join(scratch, `${rendition.name}-clear.ts`);
      writeFileSync(encryptedFile, body);
      const clear = decryptSegment(body, key.body, segment);
      writeFileSync(clearFile, clear);
      expect(clear[0]).to.equal(0x47);
      expect(await firstVideoFrameOf(clearFile), `${rendition.name} decrypted`).to.deep.equal({
        width: rendition.width,
        height: rendition.height,
      });
      expect(await firstVideoFrameOf(encryptedFile), `${rendition.name} without its key`).to.equal(null);
      const decoded = await runAsync("ffmpeg", ["-v", "error", "-i", clearFile, "-f", "null", "-"]);
      expect(decoded.code, decoded.stderr).to.equal(0);
    }
  });

  it("each rendition rotates its key every period: at least three keys seen in every media playlist", async () => {
    const { variants } = await openLadder();
    const seen = variants.map(() => new Set<string>());
    await waitFor(
      () => `three keys per rendition (saw ${seen.map((s) => s.size).join(",")})`,
      async () => {
        for (const [i, v] of variants.entries()) {
          const media = (await get(`/live/eladder/${v.uri}`)).body.toString();
          for (const s of keyedSegmentsOf(media)) if (s.keyUri !== null) seen[i]!.add(s.keyUri.split("?")[0]!);
        }
        return seen.every((s) => s.size >= 3) ? true : undefined;
      },
      60_000,
      300,
    );
    // A period is rotateEverySegments segments: a playlist of listSize segments never spans more than its periods.
    for (const v of variants) {
      const segments = keyedSegmentsOf((await get(`/live/eladder/${v.uri}`)).body.toString());
      const keys = new Set(segments.map((s) => s.keyUri));
      expect(keys.size).to.be.at.most(Math.ceil(segments.length / ROTATE_EVERY) + 1);
    }
  });

  it("the master is probed from decrypted segments: CODECS and RESOLUTION as the streams carry them", async () => {
    const { key: vas } = await openLadder();
    const dir = join(run.dataDir, "hls/live/eladder");
    for (const [i, rendition] of LADDER.entries()) {
      const variant = variantsOf(readFileSync(join(dir, "index.m3u8"), "utf8"))[i]!;
      expect(variant.attributes.RESOLUTION).to.equal(`${rendition.width}x${rendition.height}`);
      const media = (await get(`/live/eladder/${rendition.name}.m3u8?vas=${vas}`)).body.toString();
      const segment = keyedSegmentsOf(media)[0]!;
      const key = (await get(`/live/eladder/${segment.keyUri}`)).body;
      const clear = decryptSegment((await get(`/live/eladder/${segment.uri}`)).body, key, segment);
      expect(variant.attributes.CODECS!.split(",")[0]).to.equal(avcCodecOf(clear));
      expect(variant.attributes["FRAME-RATE"]).to.equal("15.000");
    }
    expect(run.logs.events("hls.master_probe_failed"), "no probe of an encrypted segment failed").to.deep.equal([]);
  });
});
