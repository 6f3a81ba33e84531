import { expect } from "chai";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { segmentsOf } from "../../plugin/src/hls/playlist-rewriter.js";
import { avcCodecOf } from "../../server/src/channels/master-playlist.js";
import { startBundledServer, testChannel, waitFor, type RunningServer } from "../helpers/bundled-server.js";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { TokenAuthorizer } from "../helpers/token-authorizer.js";

/** A cheap ladder (about a tenth of a core): 360p/240p/144p, ultrafast. */
const LADDER = [
  { name: "360p", width: 640, height: 360, videoBitrateKbps: 400, audioBitrateKbps: 64, profile: "main", preset: "ultrafast" },
  { name: "240p", width: 426, height: 240, videoBitrateKbps: 250, audioBitrateKbps: 48, profile: "main", preset: "ultrafast" },
  { name: "144p", width: 256, height: 144, videoBitrateKbps: 120, audioBitrateKbps: 32, profile: "baseline", preset: "ultrafast" },
];
const PROFILE_IDC: Record<string, number> = { "Constrained Baseline": 66, Baseline: 66, Main: 77, High: 100 };

type Attributes = Record<string, string>;
/** A master playlist's variants: attributes (quotes removed) and URI. */
function variantsOf(master: string): { attributes: Attributes; uri: string }[] {
  const lines = master.split("\n");
  const out: { attributes: Attributes; uri: string }[] = [];
  lines.forEach((line, i) => {
    if (!line.startsWith("#EXT-X-STREAM-INF:")) return;
    const attributes: Attributes = {};
    for (const m of line.slice(18).matchAll(/([A-Z-]+)=("[^"]*"|[^,]*)/g)) attributes[m[1]!] = m[2]!.replace(/^"|"$/g, "");
    out.push({ attributes, uri: lines[i + 1]! });
  });
  return out;
}

/** ffprobe's view of a file's streams. */
function probe(
  file: string,
): { codec_type: string; codec_name: string; profile?: string; level?: number; width?: number; height?: number; r_frame_rate?: string }[] {
  const result = spawnSync("ffprobe", ["-v", "error", "-show_streams", "-of", "json", file]);
  expect(result.status, result.stderr.toString()).to.equal(0);
  return JSON.parse(result.stdout.toString()).streams;
}

/** A child's exit code and output, without blocking the event loop; killed after 60 s. */
function runAsync(command: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => child.kill("SIGKILL"), 60000);
  return new Promise((resolve) =>
    child.once("close", (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    }),
  );
}

describe("bundled server: an adaptive ladder (real ffmpeg, real NMS)", function () {
  this.timeout(120000);
  const step = new TokenAuthorizer();
  let run: RunningServer;
  let scratch: string;
  const url = (path: string) => `${run.httpBase}${path}`;
  const get = async (path: string) => httpGetFor(url(path), 5000);

  before(async function () {
    if (!hasFfmpeg) this.skip();
    scratch = mkdtempSync(join(tmpdir(), "va-ladder-"));
    const ladder = {
      ...testChannel("ladder"),
      source: { type: "testPattern", width: 640, height: 360, fps: 15 },
      transcode: { mode: "h264", videoBitrateKbps: 600, audioBitrateKbps: 64, preset: "ultrafast" },
      renditions: LADDER,
    };
    run = await startBundledServer({ channels: [ladder, testChannel("single")] }, { authorizers: [step] });
    for (const file of ["ladder/index.m3u8", "single/master.m3u8"]) {
      await waitFor(`the master playlist ${file}`, () => (existsSync(join(run.dataDir, "hls/live", file)) ? true : undefined), 60000);
    }
  });
  after(async () => {
    await run?.stop();
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  });

  /** The master through the gate for a new viewer, and its session key. */
  async function openLadder(): Promise<{ key: string; variants: { attributes: Attributes; uri: string }[] }> {
    const master = await get("/live/ladder/index.m3u8?token=good");
    expect(master.status).to.equal(200);
    const variants = variantsOf(master.body.toString());
    const key = /vas=([A-Za-z0-9_-]{22})/.exec(master.body.toString())![1]!;
    return { key, variants };
  }

  it("ffprobe sees every rendition in the gate's master playlist", async () => {
    const { key } = await openLadder();
    const master = join(scratch, "master-probe.json");
    // Asynchronously: the gate answering ffprobe runs in this process.
    const result = await runAsync("ffprobe", ["-v", "error", "-show_programs", "-of", "json", url(`/live/ladder/index.m3u8?vas=${key}`)]);
    expect(result.code, result.stderr).to.equal(0);
    writeFileSync(master, result.stdout);
    const programs = JSON.parse(result.stdout).programs as { streams: { codec_type: string; width?: number; height?: number }[] }[];
    expect(programs).to.have.length(LADDER.length);
    const sizes = programs.map((p) => p.streams.find((s) => s.codec_type === "video")).map((v) => `${v?.width}x${v?.height}`);
    expect(sizes.sort()).to.deep.equal(LADDER.map((r) => `${r.width}x${r.height}`).sort());
    for (const p of programs) expect(p.streams.some((s) => s.codec_type === "audio")).to.equal(true);
  });

  it("each variant's BANDWIDTH, AVERAGE-BANDWIDTH, CODECS, RESOLUTION and FRAME-RATE match its stream", async () => {
    const { key, variants } = await openLadder();
    expect(variants.map((v) => v.uri.split("?")[0])).to.deep.equal(LADDER.map((r) => `${r.name}.m3u8`));
    for (const [i, variant] of variants.entries()) {
      const a = variant.attributes;
      const media = await get(`/live/ladder/${variant.uri}`);
      expect(media.status).to.equal(200);
      const segment = segmentsOf(media.body.toString())[0]!;
      const body = (await get(`/live/ladder/${segment.uri}`)).body;
      const file = join(scratch, `${LADDER[i]!.name}.ts`);
      writeFileSync(file, body);
      const streams = probe(file);
      const video = streams.find((s) => s.codec_type === "video")!;
      const audio = streams.find((s) => s.codec_type === "audio")!;
      expect(a.RESOLUTION).to.equal(`${LADDER[i]!.width}x${LADDER[i]!.height}`).and.to.equal(`${video.width}x${video.height}`);
      const [num, den] = video.r_frame_rate!.split("/").map(Number);
      expect(a["FRAME-RATE"])
        .to.equal((num! / den!).toFixed(3))
        .and.to.equal("15.000");
      // hls.js reads avc1.PPCCLL (profile_idc, constraint flags, level_idc in hex) and mp4a.40.2 (AAC-LC).
      const [avc, aac] = a.CODECS!.split(",");
      expect(avc).to.match(/^avc1\.[0-9a-f]{6}$/);
      expect(avc).to.equal(avcCodecOf(body));
      expect(parseInt(avc!.slice(5, 7), 16), `profile ${video.profile}`).to.equal(PROFILE_IDC[video.profile!]);
      expect(parseInt(avc!.slice(9, 11), 16)).to.equal(video.level);
      expect(audio.codec_name).to.equal("aac");
      expect(audio.profile).to.equal("LC");
      expect(aac).to.equal("mp4a.40.2");
      // Bitrates: measured from the segments (size × 8 / duration): the peak is BANDWIDTH, the mean AVERAGE-BANDWIDTH.
      const bandwidth = Number(a.BANDWIDTH);
      const average = Number(a["AVERAGE-BANDWIDTH"]);
      expect(average).to.be.greaterThan(0).and.at.most(bandwidth);
      const nominal = (LADDER[i]!.videoBitrateKbps + LADDER[i]!.audioBitrateKbps) * 1000;
      expect(average, "near the configured rate").to.be.within(nominal * 0.3, nominal * 2);
      expect(media.body.toString()).to.include(`vas=${key}`);
    }
  });

  it("the master's BANDWIDTH stays at least every listed segment's bitrate", async () => {
    const dir = join(run.dataDir, "hls/live/ladder");
    await waitFor(
      "BANDWIDTH to cover every listed segment",
      () => {
        const variants = variantsOf(readFileSync(join(dir, "index.m3u8"), "utf8"));
        const ok = variants.every((v) => {
          const listed = segmentsOf(readFileSync(join(dir, v.uri), "utf8"));
          const peak = Math.max(
            ...listed.map((s) => (existsSync(join(dir, s.uri)) ? (readFileSync(join(dir, s.uri)).length * 8) / s.durationSec : 0)),
          );
          return Number(v.attributes.BANDWIDTH) >= peak * 0.999;
        });
        return ok ? true : undefined;
      },
      30000,
    );
  });

  it("segments line up across renditions: the same media sequence and durations", async () => {
    const dir = join(run.dataDir, "hls/live/ladder");
    const lists = LADDER.map((r) => readFileSync(join(dir, `${r.name}.m3u8`), "utf8"));
    const sequences = lists.map((l) => /#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(l)?.[1]);
    const durations = lists.map((l) =>
      segmentsOf(l)
        .map((s) => s.durationSec.toFixed(1))
        .slice(0, 2)
        .join(","),
    );
    // A rendition may be one segment ahead of another at the moment of reading: compare when they agree.
    await waitFor(
      "the renditions to list the same segments",
      () => {
        const now = LADDER.map((r) => readFileSync(join(dir, `${r.name}.m3u8`), "utf8"));
        const seqs = now.map((l) => /#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(l)?.[1]);
        const durs = now.map((l) =>
          segmentsOf(l)
            .map((s) => s.durationSec.toFixed(1))
            .join(","),
        );
        return new Set(seqs).size === 1 && new Set(durs).size === 1 ? true : undefined;
      },
      20000,
    );
    expect(sequences.every((s) => s !== undefined)).to.equal(true);
    expect(durations.every((d) => d !== "")).to.equal(true);
  });

  it("one HLS session covers every rendition: switching quality runs no chain and opens no session", async () => {
    const seenBefore = step.seen.length;
    const { key, variants } = await openLadder();
    expect(step.seen.length - seenBefore).to.equal(1);
    const playing = () =>
      run.server.auth.sessions.list().filter((s) => s.protocol === "hls" && s.state === "playing" && s.channel === "ladder");
    const sessionsBefore = playing().length;
    for (const variant of [...variants, ...variants.slice().reverse()]) {
      expect(variant.uri).to.include(`vas=${key}`);
      const media = await get(`/live/ladder/${variant.uri}`);
      expect(media.status).to.equal(200);
      const segment = segmentsOf(media.body.toString()).at(-1)!;
      expect(segment.uri).to.include(`vas=${key}`);
      expect((await get(`/live/ladder/${segment.uri}`)).status).to.equal(200);
    }
    expect(step.seen.length - seenBefore, "the chain ran once").to.equal(1);
    expect(playing().length).to.equal(sessionsBefore);
    expect(playing().filter((s) => s.identity?.userId === "u1").length).to.be.at.least(1);
    // Another channel's playlist with this key: refused.
    expect((await get(`/live/single/index.m3u8?vas=${key}`)).status).to.equal(403);
  });

  it("a single-rendition channel: the one-variant master the gate writes carries the same attributes", async () => {
    const wrapper = await get("/live/single/index.m3u8?token=good");
    expect(wrapper.status).to.equal(200);
    const [variant] = variantsOf(wrapper.body.toString());
    expect(variant!.uri).to.match(/^index\.m3u8\?vas=[A-Za-z0-9_-]{22}$/);
    const a = variant!.attributes;
    expect(a.CODECS).to.match(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
    expect(a.RESOLUTION).to.equal("160x120");
    expect(a["FRAME-RATE"]).to.equal("15.000");
    expect(Number(a["AVERAGE-BANDWIDTH"])).to.be.greaterThan(0).and.at.most(Number(a.BANDWIDTH));
    // And the master itself, asked for by name.
    const master = await get("/live/single/master.m3u8?token=good");
    expect(variantsOf(master.body.toString())[0]!.attributes.CODECS).to.equal(a.CODECS);
  });
});
