import { expect } from "chai";
import { classifyRequestPath, HLS_CONTENT_TYPES, type HlsPathVerdict } from "../../plugin/src/hls/hls-request-path.js";

describe("classifyRequestPath: the HLS gate's reading of a request path", () => {
  describe("traversal and malformed forms are bad, before any file is touched", () => {
    const cases: [string, string][] = [
      ["/live/../etc/passwd.m3u8", "dot segment in path"],
      ["/live/./x/index.m3u8", "dot segment in path"],
      ["/live/x/..", "dot segment in path"],
      ["/live/%2e%2e/x/index.m3u8", "dot segment in path"],
      ["/live/%2E%2E/x/index.m3u8", "dot segment in path"],
      ["/live/x%2f..%2fy/index.m3u8", "dot segment in path"],
      ["/live/%252e%252e/x/index.m3u8", "double percent-encoding"],
      ["/live/x/a%2541.ts", "double percent-encoding"],
      ["/live\\..\\x/index.m3u8", "backslash in path"],
      ["/live/x%5c..%5cy/index.m3u8", "backslash in path"],
      ["/live/x/index.m3u8%00", "NUL byte in path"],
      ["/live/x/a\u0000.ts", "NUL byte in path"],
      ["/live//x/index.m3u8", "empty segment in path"],
      ["//live/x/index.m3u8", "empty segment in path"],
      ["/live/x%2F%2Fy/index.m3u8", "empty segment in path"],
      ["live/x/index.m3u8", "path is not absolute"],
      ["http://h/live/x/index.m3u8", "path is not absolute"],
      ["/live/x/%E0%A4%A.ts", "malformed percent-encoding"],
      ["/live/x/%ZZ.ts", "malformed percent-encoding"],
    ];
    for (const [url, reason] of cases) {
      it(`${url} (${reason})`, () => {
        expect(classifyRequestPath(url)).to.deep.equal({ kind: "bad", reason });
      });
    }
  });

  describe("/<app>/<channel>/<file> with safe names is an HLS file", () => {
    const cases: [string, HlsPathVerdict][] = [
      [
        "/live/cam1/index.m3u8",
        { kind: "hls", app: "live", channel: "cam1", file: "index.m3u8", extension: "m3u8", path: "/live/cam1/index.m3u8" },
      ],
      [
        "/live/cam1/seg-00012.ts?token=a.b&x=%2e%2e",
        { kind: "hls", app: "live", channel: "cam1", file: "seg-00012.ts", extension: "ts", path: "/live/cam1/seg-00012.ts" },
      ],
      [
        "/live/cam1/720p.v1.m4s",
        { kind: "hls", app: "live", channel: "cam1", file: "720p.v1.m4s", extension: "m4s", path: "/live/cam1/720p.v1.m4s" },
      ],
      [
        "/live/cam%31/init.mp4",
        { kind: "hls", app: "live", channel: "cam1", file: "init.mp4", extension: "mp4", path: "/live/cam1/init.mp4" },
      ],
      ["/a_b/C-D/subs.vtt", { kind: "hls", app: "a_b", channel: "C-D", file: "subs.vtt", extension: "vtt", path: "/a_b/C-D/subs.vtt" }],
      [
        "/live/cam1/audio.aac",
        { kind: "hls", app: "live", channel: "cam1", file: "audio.aac", extension: "aac", path: "/live/cam1/audio.aac" },
      ],
      [
        "/live/cam1/manifest.mpd",
        { kind: "hls", app: "live", channel: "cam1", file: "manifest.mpd", extension: "mpd", path: "/live/cam1/manifest.mpd" },
      ],
      [
        `/live/cam1/${"f".repeat(128)}.ts`,
        {
          kind: "hls",
          app: "live",
          channel: "cam1",
          file: `${"f".repeat(128)}.ts`,
          extension: "ts",
          path: `/live/cam1/${"f".repeat(128)}.ts`,
        },
      ],
    ];
    for (const [url, verdict] of cases) {
      it(url.slice(0, 60), () => {
        expect(classifyRequestPath(url)).to.deep.equal(verdict);
      });
    }
  });

  describe("an HLS extension in any other shape is not found; anything else is other", () => {
    const cases: [string, HlsPathVerdict["kind"]][] = [
      [`/live/cam1/${"f".repeat(129)}.ts`, "not-found"],
      ["/live/cam1/.hidden.ts", "not-found"],
      ["/live/cam1/INDEX.M3U8", "not-found"],
      ["/live/index.m3u8", "not-found"],
      ["/live/cam1/sub/index.m3u8", "not-found"],
      ["/live/cam%201/index.m3u8", "not-found"],
      ["/live/cam1/", "other"],
      ["/live/cam1/index.html", "other"],
      ["/", "other"],
      ["/api/v1/sessions", "other"],
    ];
    for (const [url, kind] of cases) {
      it(`${url.slice(0, 60)} is ${kind}`, () => {
        expect(classifyRequestPath(url)).to.deep.equal({ kind });
      });
    }
  });

  it("has a content type for every extension it serves", () => {
    expect(HLS_CONTENT_TYPES).to.deep.equal({
      m3u8: "application/vnd.apple.mpegurl",
      ts: "video/mp2t",
      m4s: "video/iso.segment",
      mp4: "video/mp4",
      aac: "audio/aac",
      vtt: "text/vtt; charset=utf-8",
      mpd: "application/dash+xml",
      key: "application/octet-stream",
    });
  });
});
