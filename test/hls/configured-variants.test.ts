import { expect } from "chai";
import { avcCodecFor, configuredStreams, h264LevelOf } from "../../server/src/channels/configured-variants.js";
import { channelSchema } from "../../server/src/server-config-schema.js";

describe("what a channel's configuration says its variants carry", () => {
  it("the lowest level that holds the picture, never below 3.0", () => {
    expect(h264LevelOf(160, 120, 15, 150)).to.equal("3.0");
    expect(h264LevelOf(1280, 720, 25, 2800)).to.equal("3.1");
    expect(h264LevelOf(1280, 720, 60, 2800)).to.equal("3.2");
    expect(h264LevelOf(1920, 1080, 30, 6000)).to.equal("4.0");
    expect(h264LevelOf(1920, 1080, 30, 30000)).to.equal("4.1");
    expect(h264LevelOf(3840, 2160, 60, 40000)).to.equal("5.2");
  });

  it("x264's profile bytes: ultrafast is Constrained Baseline whatever profile is asked for", () => {
    expect(avcCodecFor("baseline", "veryfast", "3.0")).to.equal("avc1.42c01e");
    expect(avcCodecFor("main", "veryfast", "3.1")).to.equal("avc1.4d401f");
    expect(avcCodecFor("high", "veryfast", "4.0")).to.equal("avc1.640028");
    expect(avcCodecFor("high", "ultrafast", "3.0")).to.equal("avc1.42c01e");
  });

  it("a copied source, or a size that depends on the source, determines nothing", () => {
    const copy = channelSchema.parse({ id: "a", source: { type: "url", url: "http://o.example/x.m3u8" }, transcode: { mode: "copy" } });
    expect(configuredStreams(copy)).to.equal(null);
    const file = channelSchema.parse({ id: "a", source: { type: "file", path: "/x.mp4" }, transcode: { mode: "h264", width: 640 } });
    expect(configuredStreams(file)).to.equal(null);
  });

  it("a test pattern's size and rate, or the configured size, with AAC-LC", () => {
    const pattern = channelSchema.parse({ id: "a", source: { type: "testPattern", width: 320, height: 180, fps: 30 } });
    expect(configuredStreams(pattern)!.get("index")).to.include({
      codecs: "avc1.64001e,mp4a.40.2",
      width: 320,
      height: 180,
      frameRate: 30,
    });
    const sized = channelSchema.parse({
      id: "a",
      source: { type: "file", path: "/x.mp4" },
      transcode: { mode: "h264", width: 1280, height: 720, videoBitrateKbps: 2500 },
    });
    expect(configuredStreams(sized)!.get("index")).to.include({ width: 1280, height: 720, frameRate: null });
  });
});
