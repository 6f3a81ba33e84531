import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MasterPlaylistWriter } from "../../server/src/channels/master-playlist.js";
import { channelSchema } from "../../server/src/server-config-schema.js";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";

const channel = channelSchema.parse({ id: "a", source: { type: "testPattern", width: 160, height: 120, fps: 10 } });
const PLAYLIST = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:1.000000,\nseg_0.ts\n";

describe("the master playlist writer's probe warning names the real cause", function () {
  this.timeout(60_000);
  let dir: string;
  let segment: Buffer;

  before(function () {
    if (!hasFfmpeg) this.skip();
    dir = mkdtempSync(join(tmpdir(), "va-master-probe-"));
    const file = join(dir, "made.ts");
    const made = spawnSync(
      "ffmpeg",
      [
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=160x120:rate=10",
        "-t",
        "1",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-f",
        "mpegts",
        file,
      ],
      { encoding: "utf8" },
    );
    expect(made.status, made.stderr).to.equal(0);
    segment = readFileSync(file);
  });
  after(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  function channelDir(name: string, bytes: Buffer): string {
    const out = join(dir, name);
    spawnSync("mkdir", ["-p", out]);
    writeFileSync(join(out, "index.m3u8"), PLAYLIST);
    writeFileSync(join(out, "seg_0.ts"), bytes);
    return out;
  }

  it("a listed segment with nothing in it yet: 'no segment yet to probe', not a missing ffprobe", async () => {
    const log = createCapturingLogger();
    await new MasterPlaylistWriter(channel, channelDir("empty", Buffer.alloc(0)), "ffprobe", log.logger).tick();
    const [warning] = log.events("hls.master_probe_failed");
    expect(warning).to.include({ cause: "no-segment-yet", msg: "no segment yet to probe: no master playlist yet" });
  });

  it("an ffprobe path that does not exist: 'ffprobe not found at <path>'", async () => {
    const log = createCapturingLogger();
    await new MasterPlaylistWriter(channel, channelDir("no-ffprobe", segment), "/no/such/ffprobe", log.logger).tick();
    const [warning] = log.events("hls.master_probe_failed");
    expect(warning).to.include({ cause: "ffprobe-not-found" });
    expect(warning!.msg).to.match(/^ffprobe not found at \/no\/such\/ffprobe/);
  });

  it("a real segment and ffprobe: the master has CODECS and RESOLUTION, no warning", async () => {
    const log = createCapturingLogger();
    const out = channelDir("real", segment);
    await new MasterPlaylistWriter(channel, out, "ffprobe", log.logger).tick();
    expect(log.events("hls.master_probe_failed")).to.deep.equal([]);
    expect(readFileSync(join(out, "master.m3u8"), "utf8")).to.match(/CODECS="avc1\.[0-9a-f]{6}",RESOLUTION=160x120/);
  });
});
