import { expect } from "chai";
import { rewriteMpd, rewritePlaylist } from "../../plugin/src/hls/playlist-rewriter.js";

const KEY = "k3y_of-a-session";
const PLAYLIST_URL = "http://media.example:8000/live/test/index.m3u8";

/** The URIs of a media playlist: segment lines and URI="…" attributes. */
function urisOf(playlist: string): string[] {
  return playlist.split("\n").flatMap((line) => {
    if (line.startsWith("#")) return [...line.matchAll(/URI="([^"]*)"/g)].map((m) => m[1]!);
    return line.trim() === "" ? [] : [line.trim()];
  });
}

describe("playlist rewriter", () => {
  it("adds the key to relative and absolute-path URIs, keeping their query and fragment", () => {
    const input = [
      "#EXTM3U",
      '#EXT-X-MAP:URI="init.mp4"',
      '#EXT-X-KEY:METHOD=AES-128,URI="/keys/live/test.key"',
      "#EXTINF:2.0,",
      "seg_1.ts",
      "#EXTINF:2.0,",
      "seg_2.ts?part=1#t=0",
      "#EXTINF:2.0,",
      "/live/test/seg_3.ts",
      "",
    ].join("\n");
    expect(rewritePlaylist(input, KEY)).to.equal(
      [
        "#EXTM3U",
        `#EXT-X-MAP:URI="init.mp4?vas=${KEY}"`,
        `#EXT-X-KEY:METHOD=AES-128,URI="/keys/live/test.key?vas=${KEY}"`,
        "#EXTINF:2.0,",
        `seg_1.ts?vas=${KEY}`,
        "#EXTINF:2.0,",
        `seg_2.ts?part=1&vas=${KEY}#t=0`,
        "#EXTINF:2.0,",
        `/live/test/seg_3.ts?vas=${KEY}`,
        "",
      ].join("\n"),
    );
  });

  it("never gives the key to a URI that may name another host: schemes, // and the backslash forms URL parsers read alike", () => {
    const foreign = [
      "//evil.example/x.ts",
      "https://cdn.example/x.ts",
      "HTTP://cdn.example/x.ts",
      "\\\\evil.example\\x.ts",
      "/\\evil.example/x.ts",
      "\\/evil.example/x.ts",
      "/\t/evil.example/x.ts",
      "\u0001//evil.example/x.ts",
      "data:text/plain,x",
      "skd://key-server/1",
    ];
    const input = [
      "#EXTM3U",
      ...foreign.flatMap((uri) => ["#EXTINF:2.0,", uri]),
      `#EXT-X-KEY:METHOD=AES-128,URI="//evil.example/key"`,
      "",
    ].join("\n");
    const output = rewritePlaylist(input, KEY);
    expect(output).to.not.include(KEY);
    expect(output).to.equal(
      input
        .split("\n")
        .map((line) => (line.trim() === line ? line : line.trim()))
        .join("\n"),
    );
  });

  it("every URI that carries the key resolves to the playlist's own host", () => {
    const uris = [
      "seg.ts",
      "/seg.ts",
      "../other/seg.ts",
      "//evil.example/x.ts",
      "/\\evil.example/x.ts",
      "\\\\evil.example/x.ts",
      "http://evil.example/x.ts",
      "?x=1",
    ];
    const output = rewritePlaylist(["#EXTM3U", ...uris, ""].join("\n"), KEY);
    for (const uri of urisOf(output)) {
      const resolved = new URL(uri, PLAYLIST_URL);
      if (resolved.searchParams.get("vas") === KEY) expect(resolved.host, uri).to.equal("media.example:8000");
      else expect(resolved.host, uri).to.not.equal("media.example:8000");
    }
  });

  describe("DASH manifests (NMS 2.7's trans dash output)", () => {
    const mpd = (template: string) =>
      `<?xml version="1.0"?>\n<MPD><Period><AdaptationSet><Representation id="0">${template}</Representation></AdaptationSet></Period></MPD>\n`;

    it("keys the segment template's media and initialization, in XML (&amp; after an existing query)", () => {
      const text = rewriteMpd(
        mpd(
          '<SegmentTemplate initialization="init-stream$RepresentationID$.m4s" media="chunk-stream$RepresentationID$-$Number%05d$.m4s?x=1" startNumber="1"/>',
        ),
        "K",
      );
      expect(text).to.include('initialization="init-stream$RepresentationID$.m4s?vas=K"');
      expect(text).to.include('media="chunk-stream$RepresentationID$-$Number%05d$.m4s?x=1&amp;vas=K"');
      expect(text).to.include('startNumber="1"');
    });

    it("never gives the key to another host: absolute URIs and any manifest with a BaseURL stay as they are", () => {
      const absolute = mpd('<SegmentTemplate media="https://cdn.example/c-$Number$.m4s" initialization="//cdn.example/init.m4s"/>');
      expect(rewriteMpd(absolute, "K")).to.equal(absolute);
      const based = mpd('<BaseURL>https://cdn.example/</BaseURL><SegmentTemplate media="c-$Number$.m4s"/>');
      expect(rewriteMpd(based, "K")).to.equal(based);
    });
  });
});
