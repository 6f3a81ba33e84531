import { expect } from "chai";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import { ConfigError } from "../../plugin/src/core/errors.js";
import { variantAttributesOf, wrapperPlaylist } from "../../plugin/src/hls/playlist-rewriter.js";
import { serverConfigSchema } from "../../server/src/server-config-schema.js";
import { avcCodecOf, masterPlaylist } from "../../server/src/channels/master-playlist.js";
import { testChannel } from "../helpers/test-channel.js";
import { thrown } from "../helpers/thrown.js";

/** A cheap ladder (about a tenth of a core): 360p/240p/144p, ultrafast. */
const LADDER = [
  { name: "360p", width: 640, height: 360, videoBitrateKbps: 400, audioBitrateKbps: 64, profile: "main", preset: "ultrafast" },
  { name: "240p", width: 426, height: 240, videoBitrateKbps: 250, audioBitrateKbps: 48, profile: "main", preset: "ultrafast" },
  { name: "144p", width: 256, height: 144, videoBitrateKbps: 120, audioBitrateKbps: 32, profile: "baseline", preset: "ultrafast" },
];

describe("ladder configuration", () => {
  it("reports duplicate names, odd sizes and reserved names with their key paths", () => {
    const renditions = [LADDER[0], { ...LADDER[1], name: "360p", width: 427 }, { ...LADDER[2], name: "index" }];
    const text = thrown(() => parseConfig(serverConfigSchema, { channels: [{ ...testChannel("c"), renditions }] }), ConfigError).message;
    expect(text).to.include('channels[0].renditions[1].name: "360p" duplicates renditions[0]');
    expect(text).to.include("channels[0].renditions[1].width: 427 must be even");
    expect(text).to.include('channels[0].renditions[2].name: "index" must not be');
  });

  it("a valid ladder parses with its defaults", () => {
    const config = parseConfig(serverConfigSchema, {
      channels: [{ ...testChannel("c"), renditions: [{ name: "hd", width: 1280, height: 720, videoBitrateKbps: 2800 }] }],
    });
    expect(config.channels[0]!.renditions).to.deep.equal([
      { name: "hd", width: 1280, height: 720, videoBitrateKbps: 2800, audioBitrateKbps: 96, profile: "main", preset: "veryfast" },
    ]);
  });
});

describe("master playlist pieces", () => {
  it("masterPlaylist writes every attribute; the gate's wrapper takes a variant's attributes back verbatim", () => {
    const text = masterPlaylist([
      {
        uri: "hd.m3u8",
        bandwidth: 2_900_000.4,
        averageBandwidth: 2_500_000,
        codecs: "avc1.64001f,mp4a.40.2",
        width: 1280,
        height: 720,
        frameRate: 30000 / 1001,
      },
      {
        uri: "index.m3u8",
        bandwidth: 900_000,
        averageBandwidth: 800_000,
        codecs: "avc1.4d401e,mp4a.40.2",
        width: 640,
        height: 360,
        frameRate: 25,
      },
    ]);
    expect(text).to.equal(
      [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        '#EXT-X-STREAM-INF:BANDWIDTH=2900000,AVERAGE-BANDWIDTH=2500000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=29.970',
        "hd.m3u8",
        '#EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=800000,CODECS="avc1.4d401e,mp4a.40.2",RESOLUTION=640x360,FRAME-RATE=25.000',
        "index.m3u8",
        "",
      ].join("\n"),
    );
    expect(variantAttributesOf(text, "index.m3u8")).to.equal(
      'BANDWIDTH=900000,AVERAGE-BANDWIDTH=800000,CODECS="avc1.4d401e,mp4a.40.2",RESOLUTION=640x360,FRAME-RATE=25.000',
    );
    expect(variantAttributesOf(text, "other.m3u8")).to.equal(null);
    expect(wrapperPlaylist("index.m3u8", "KEY", 1, variantAttributesOf(text, "index.m3u8"))).to.equal(
      `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:${variantAttributesOf(text, "index.m3u8")}\nindex.m3u8?vas=KEY\n`,
    );
  });

  it("a master line that is not a plain attribute list is not copied into a wrapper", () => {
    expect(variantAttributesOf('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS="a\n#EXT-X-KEY:URI=x"\nindex.m3u8\n', "index.m3u8")).to.equal(
      null,
    );
    expect(variantAttributesOf("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1 ,x\nindex.m3u8\n", "index.m3u8")).to.equal(null);
  });

  it("avcCodecOf reads profile, constraint flags and level from the first SPS; none → null", () => {
    const segment = Buffer.concat([
      Buffer.from([0x47, 0x40, 0x00, 0x00, 0x00, 0x00, 0x01, 0x09, 0xf0]),
      Buffer.from([0x00, 0x00, 0x01, 0x67, 0x4d, 0x40, 0x1e, 0xab]),
      Buffer.from([0x00, 0x00, 0x01, 0x67, 0x64, 0x00, 0x1f]),
    ]);
    expect(avcCodecOf(segment)).to.equal("avc1.4d401e");
    expect(avcCodecOf(Buffer.from([0x00, 0x00, 0x01, 0x68, 0x4d]))).to.equal(null);
  });
});
