import { expect } from "chai";
import { createHash } from "node:crypto";
import { EdgeLinks } from "../../plugin/src/hls/edge-links.js";
import { configSecrets } from "../../plugin/src/config-secrets.js";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import { pluginConfigSchema, type PluginConfig } from "../../plugin/src/plugin-config-schema.js";
import { ConfigError } from "../../plugin/src/core/errors.js";
import { thrown } from "../helpers/thrown.js";
import { PreparedPlaylist } from "../../plugin/src/hls/prepared-playlist.js";
import { rewritePlaylist } from "../../plugin/src/hls/playlist-rewriter.js";
import { ManualClock } from "../helpers/manual-clock.js";

describe("PreparedPlaylist in edge mode", () => {
  const edgeUrl = (file: string) => `https://edge.example/live/ch/${file}?md5=SIG&expires=9`;

  it("sends a media playlist's segments and init section to the edge; other URIs keep the key; the byte length is exact", () => {
    const text =
      '#EXTM3U\n#EXT-X-MAP:URI="init.mp4",BYTERANGE="700@0"\n#EXTINF:2.0,\nseg_1.m4s\n#EXTINF:2.0,\n../other/seg_2.ts\n#EXTINF:2.0,\n//cdn.example/x.ts\n#EXTINF:2.0,\nsegé.ts\n';
    const prepared = PreparedPlaylist.of(text, true);
    expect(prepared.keyOnly).to.equal(false);
    const { text: out, bytes } = prepared.render("KEY", edgeUrl);
    expect(out).to.equal(
      [
        "#EXTM3U",
        '#EXT-X-MAP:URI="https://edge.example/live/ch/init.mp4?md5=SIG&expires=9",BYTERANGE="700@0"',
        "#EXTINF:2.0,",
        "https://edge.example/live/ch/seg_1.m4s?md5=SIG&expires=9",
        "#EXTINF:2.0,",
        "../other/seg_2.ts?vas=KEY",
        "#EXTINF:2.0,",
        "//cdn.example/x.ts",
        "#EXTINF:2.0,",
        "segé.ts?vas=KEY",
        "",
      ].join("\n"),
    );
    expect(bytes).to.equal(Buffer.byteLength(out));
    expect(() => prepared.render("KEY")).to.throw(/signed/);
  });

  it("leaves a multivariant playlist on the gate: every variant keeps the key", () => {
    const master = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\n360p.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=500\n240p.m3u8\n";
    const prepared = PreparedPlaylist.of(master, true);
    expect(prepared.keyOnly).to.equal(true);
    expect(prepared.render("KEY").text).to.equal(rewritePlaylist(master, "KEY"));
  });
});

describe("hls.edge configuration", () => {
  const parseEdge = (edge: Record<string, unknown>) =>
    thrown(() => parseConfig(pluginConfigSchema, { hls: { dir: "/tmp/x", edge } }), ConfigError).message;

  it("reports a base URL with a query or credentials, a short secret and an unknown format, each with its key path", () => {
    expect(parseEdge({ baseUrl: "http://edge/?a=1", secret: "short" }))
      .to.include("hls.edge.baseUrl")
      .and.to.include('hls.edge.secret: "<redacted>" must be at least 16 characters');
    const withCredentials = parseEdge({ baseUrl: "http://user:pw-of-the-edge@edge/", secret: "0123456789abcdef" });
    expect(withCredentials).to.include("hls.edge.baseUrl").and.to.not.include("pw-of-the-edge");
    expect(parseEdge({ baseUrl: "ftp://edge/", secret: "0123456789abcdef", format: "akamai" }))
      .to.include("hls.edge.baseUrl")
      .and.to.include("hls.edge.format");
  });

  it("defaults: 60 s links bound to the viewer's address, nginx secure_link MD5; the secret is redacted from logs", () => {
    const config = parseConfig(pluginConfigSchema, {
      hls: { dir: "/tmp/x", edge: { baseUrl: "https://edge.example/hls", secret: "0123456789abcdef" } },
    }) as PluginConfig;
    expect(config.hls.edge).to.deep.equal({
      baseUrl: "https://edge.example/hls",
      secret: "0123456789abcdef",
      expiresSeconds: 60,
      bindIp: true,
      format: "nginx-secure-link-md5",
    });
    expect(configSecrets(config)).to.include("0123456789abcdef");
  });

  it("a base URL's path prefixes every link and is part of what is signed", () => {
    const links = new EdgeLinks(
      {
        baseUrl: "https://edge.example/hls/",
        secret: "0123456789abcdef",
        expiresSeconds: 60,
        bindIp: false,
        format: "nginx-secure-link-md5",
      },
      new ManualClock(1_000_000_000_000),
    );
    const url = links.forViewer("live", "ch", null)!("seg_1.ts");
    const expected = createHash("md5").update("1000000060/hls/live/ch/seg_1.ts 0123456789abcdef").digest("base64url");
    expect(url).to.equal(`https://edge.example/hls/live/ch/seg_1.ts?md5=${expected}&expires=1000000060`);
  });
});
