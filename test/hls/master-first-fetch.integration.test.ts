import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { segmentsOf } from "../../plugin/src/hls/playlist-rewriter.js";
import { avcCodecOf } from "../../server/src/channels/master-playlist.js";
import { startBundledServer, testChannel, waitFor, type RunningServer } from "../helpers/bundled-server.js";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { sleep } from "../helpers/sleep.js";
import { TokenAuthorizer } from "../helpers/token-authorizer.js";

/** A cheap ladder, with one rung at ultrafast (Constrained Baseline whatever the profile says). */
const LADDER = [
  { name: "240p", width: 426, height: 240, videoBitrateKbps: 250, audioBitrateKbps: 48, profile: "high", preset: "veryfast" },
  { name: "144p", width: 256, height: 144, videoBitrateKbps: 120, audioBitrateKbps: 32, profile: "main", preset: "ultrafast" },
];

/** `{attributes, uri}` of each variant of a master playlist. */
function variantsOf(master: string): { attributes: Record<string, string>; uri: string }[] {
  const lines = master.split("\n");
  return lines.flatMap((line, i) => {
    if (!line.startsWith("#EXT-X-STREAM-INF:")) return [];
    const attributes: Record<string, string> = {};
    for (const m of line.slice(18).matchAll(/([A-Z-]+)=("[^"]*"|[^,]*)/g)) attributes[m[1]!] = m[2]!.replace(/^"|"$/g, "");
    return [{ attributes, uri: lines[i + 1]!.split("?")[0]! }];
  });
}

/** A file's bytes; none when ffmpeg deleted it meanwhile. */
function readOrEmpty(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch {
    return Buffer.alloc(0);
  }
}

/** CODECS and RESOLUTION as ffprobe (and the SPS bytes) read them from a segment on disk. */
function probedFacts(segment: string): { codecs: string; resolution: string } {
  const result = spawnSync("ffprobe", ["-v", "error", "-show_streams", "-of", "json", segment]);
  expect(result.status, result.stderr.toString()).to.equal(0);
  const streams = JSON.parse(result.stdout.toString()).streams as {
    codec_type: string;
    profile?: string;
    width?: number;
    height?: number;
  }[];
  const video = streams.find((s) => s.codec_type === "video")!;
  const audio = streams.find((s) => s.codec_type === "audio")!;
  expect(audio.profile).to.equal("LC");
  return { codecs: `${avcCodecOf(readFileSync(segment))},mp4a.40.2`, resolution: `${video.width}x${video.height}` };
}

describe("bundled server: the first master playlist already has CODECS and RESOLUTION (real ffmpeg, real NMS)", function () {
  this.timeout(180_000);
  const step = new TokenAuthorizer();
  let run: RunningServer;
  let scratch: string;
  /** Every status answered to the polls, and the first 200 body, per channel. */
  const first = new Map<string, string>();
  const statuses = new Map<string, number[]>();

  before(async function () {
    if (!hasFfmpeg) this.skip();
    scratch = mkdtempSync(join(tmpdir(), "va-first-master-"));
    // An H.264/AAC file for a copied channel: its picture is not in the configuration, only in the stream.
    const file = join(scratch, "source.mp4");
    const made = spawnSync("ffmpeg", [
      ...["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=192x108:rate=15", "-f", "lavfi", "-i", "sine=frequency=440"],
      ...["-t", "6", "-c:v", "libx264", "-preset", "ultrafast", "-g", "15", "-c:a", "aac", "-shortest", file],
    ]);
    expect(made.status, made.stderr.toString()).to.equal(0);
    const ladder = {
      ...testChannel("ladder"),
      source: { type: "testPattern", width: 426, height: 240, fps: 15 },
      transcode: { mode: "h264", videoBitrateKbps: 300, audioBitrateKbps: 48, preset: "ultrafast" },
      renditions: LADDER,
    };
    const copied = { ...testChannel("copied"), source: { type: "file", path: file, loop: true }, transcode: { mode: "copy" } };
    const single = { ...testChannel("single"), transcode: { ...testChannel("single").transcode, preset: "veryfast" } };
    run = await startBundledServer({ channels: [single, ladder, copied] }, { authorizers: [step] });
    // Polled from the moment the server has started: every answer until the first 200 is recorded.
    await Promise.all(
      ["single", "ladder", "copied"].map(async (channel) => {
        const seen: number[] = [];
        statuses.set(channel, seen);
        for (let i = 0; i < 600 && !first.has(channel); i++) {
          const answer = await httpGetFor(`${run.httpBase}/live/${channel}/index.m3u8?token=good`, 15_000);
          seen.push(answer.status);
          if (answer.status === 200) first.set(channel, answer.body.toString());
          else await sleep(100);
        }
      }),
    );
  });
  after(async () => {
    await run?.stop();
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  });

  /**
   * Waits for a segment of `media` with a sequence parameter set on disk and returns ffprobe's facts of
   * it (a packager that joined mid-GOP starts with a segment that has none).
   */
  async function factsOf(channel: string, media: string): Promise<{ codecs: string; resolution: string }> {
    const dir = join(run.dataDir, "hls/live", channel);
    const segment = await waitFor(
      `a segment of ${channel}/${media} with an SPS`,
      () =>
        segmentsOf(readFileSync(join(dir, media), "utf8"))
          .map((s) => s.uri)
          .find((uri) => avcCodecOf(readOrEmpty(join(dir, uri))) !== null),
      30_000,
    );
    return probedFacts(join(dir, segment));
  }

  for (const channel of ["single", "copied"]) {
    it(`${channel}: the first one-variant master has CODECS and RESOLUTION, as ffprobe reads the stream`, async () => {
      const body = first.get(channel);
      expect(body, `answers: ${statuses.get(channel)?.join(",")}`).to.be.a("string");
      expect(statuses.get(channel)).to.satisfy((s: number[]) => s.every((status) => [404, 503, 200].includes(status)));
      const [variant] = variantsOf(body!);
      expect(variant!.attributes).to.include.keys("CODECS", "RESOLUTION");
      const probed = await factsOf(channel, "index.m3u8");
      expect(variant!.attributes.CODECS).to.equal(probed.codecs);
      expect(variant!.attributes.RESOLUTION).to.equal(probed.resolution);
    });
  }

  it("ladder: the first master lists every rendition with CODECS and RESOLUTION, as ffprobe reads them", async () => {
    const body = first.get("ladder");
    expect(body, `answers: ${statuses.get("ladder")?.join(",")}`).to.be.a("string");
    const variants = variantsOf(body!);
    expect(variants.map((v) => v.uri)).to.deep.equal(LADDER.map((r) => `${r.name}.m3u8`));
    for (const variant of variants) {
      const probed = await factsOf("ladder", variant.uri);
      expect(variant.attributes.CODECS, variant.uri).to.equal(probed.codecs);
      expect(variant.attributes.RESOLUTION, variant.uri).to.equal(probed.resolution);
    }
    // The ultrafast rung is Constrained Baseline although it asked for main.
    expect(variants[1]!.attributes.CODECS).to.match(/^avc1\.42c0/);
  });

  it("the copied channel's marker is gone once its probed master is written", async () => {
    const dir = join(run.dataDir, "hls/live/copied");
    expect(() => readFileSync(join(dir, "master.pending"))).to.throw();
    expect(readFileSync(join(dir, "master.m3u8"), "utf8")).to.match(/CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2",RESOLUTION=192x108/);
  });
});
