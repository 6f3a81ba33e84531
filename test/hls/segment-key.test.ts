import { expect } from "chai";
import { createCipheriv, randomBytes } from "node:crypto";
import { decryptSegment, segmentKeyOf } from "../../server/src/channels/segment-key.js";

const PLAYLIST = [
  "#EXTM3U",
  "#EXT-X-VERSION:3",
  "#EXT-X-TARGETDURATION:1",
  "#EXT-X-MEDIA-SEQUENCE:1796664270",
  '#EXT-X-KEY:METHOD=AES-128,URI="k00000000000000aa.key"',
  "#EXTINF:1.000000,",
  "180p_seg_1796664270.ts",
  "#EXTINF:1.000000,",
  "180p_seg_1796664271.ts",
  '#EXT-X-KEY:METHOD=AES-128,URI="k00000000000000bb.key?vas=abc",IV=0x000102030405060708090a0b0c0d0e0f',
  "#EXTINF:1.000000,",
  "180p_seg_1796664272.ts",
  "#EXT-X-KEY:METHOD=NONE",
  "#EXTINF:1.000000,",
  "180p_seg_1796664273.ts",
  "",
].join("\n");

describe("segment keys: the key and IV in force for a segment of a media playlist", () => {
  it("the last key tag before the segment; without IV the media sequence number, big-endian", () => {
    const second = segmentKeyOf(PLAYLIST, "180p_seg_1796664271.ts")!;
    expect(second.keyName).to.equal("k00000000000000aa.key");
    expect(second.iv.toString("hex")).to.equal((1796664271).toString(16).padStart(32, "0"));
  });

  it("a tag's own IV wins, and the URI's query is not part of the key's name", () => {
    const third = segmentKeyOf(PLAYLIST, "180p_seg_1796664272.ts")!;
    expect(third.keyName).to.equal("k00000000000000bb.key");
    expect(third.iv.toString("hex")).to.equal("000102030405060708090a0b0c0d0e0f");
  });

  it("null for a clear segment (METHOD=NONE) and for one the playlist does not list", () => {
    expect(segmentKeyOf(PLAYLIST, "180p_seg_1796664273.ts")).to.equal(null);
    expect(segmentKeyOf(PLAYLIST, "180p_seg_1.ts")).to.equal(null);
  });

  it("decrypts what AES-128-CBC with PKCS#7 encrypted; a wrong key fails instead of giving garbage", () => {
    const key = randomBytes(16);
    const { iv } = segmentKeyOf(PLAYLIST, "180p_seg_1796664270.ts")!;
    const clear = Buffer.concat([Buffer.from([0x47]), randomBytes(188 * 10 - 1)]);
    const cipher = createCipheriv("aes-128-cbc", key, iv);
    const encrypted = Buffer.concat([cipher.update(clear), cipher.final()]);
    expect(decryptSegment(encrypted, key, iv).equals(clear)).to.equal(true);
    // A wrong key almost always breaks the padding (1 in 256 chance per try of passing: try a few).
    const failures = Array.from({ length: 8 }, () => {
      try {
        decryptSegment(encrypted, randomBytes(16), iv);
        return false;
      } catch {
        return true;
      }
    });
    expect(failures.filter(Boolean).length).to.be.at.least(5);
  });
});
