import { expect } from "chai";
import { createHash } from "node:crypto";
import type { HlsEdgeConfig } from "../../plugin/src/hls/hls-schema.js";
import { EdgeLinks } from "../../plugin/src/hls/edge-links.js";
import { parseIpAddress } from "../../plugin/src/net/ip-address.js";
import { ManualClock } from "../helpers/manual-clock.js";

const SECRET = "0123456789abcdef-edge";
const NOW_MS = 1_700_000_000_123;
const config = (fields: Partial<HlsEdgeConfig> = {}): HlsEdgeConfig => ({
  baseUrl: "https://edge.example",
  secret: SECRET,
  expiresSeconds: 60,
  bindIp: true,
  format: "nginx-secure-link-md5",
  ...fields,
});

/** What nginx computes for `secure_link_md5 "$secure_link_expires$uri$remote_addr <secret>"`, as its docs state it. */
function nginxMd5(expires: number, uri: string, remoteAddr: string): string {
  return createHash("md5")
    .update(`${expires}${uri}${remoteAddr} ${SECRET}`)
    .digest("base64")
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

describe("EdgeLinks: nginx secure_link_md5 links for segments", () => {
  const vectors: [string, Partial<HlsEdgeConfig>, string | null, string, string][] = [
    // name, config, viewer address, file, expected link path (origin + $uri)
    ["an IPv4 viewer, bound", {}, "203.0.113.7", "seg_1.ts", "https://edge.example/live/cam1/seg_1.ts"],
    [
      "an IPv6 viewer, bound (RFC 5952 text, as nginx's $remote_addr)",
      {},
      "2001:DB8:0:0::1",
      "seg_2.m4s",
      "https://edge.example/live/cam1/seg_2.m4s",
    ],
    [
      "an IPv4-mapped viewer is signed as its IPv4 address",
      {},
      "::ffff:198.51.100.9",
      "init.mp4",
      "https://edge.example/live/cam1/init.mp4",
    ],
    [
      "an unbound link (bindIp false) signs no address",
      { bindIp: false },
      "203.0.113.7",
      "seg_1.ts",
      "https://edge.example/live/cam1/seg_1.ts",
    ],
    [
      "a base URL path is part of $uri",
      { baseUrl: "http://edge.example:8080/hls" },
      "203.0.113.7",
      "seg_1.ts",
      "http://edge.example:8080/hls/live/cam1/seg_1.ts",
    ],
    [
      "trailing slashes of the base path are dropped",
      { baseUrl: "https://edge.example/a/b///" },
      "203.0.113.7",
      "seg_1.ts",
      "https://edge.example/a/b/live/cam1/seg_1.ts",
    ],
    ["a longer expiry", { expiresSeconds: 86400 }, "203.0.113.7", "seg_1.ts", "https://edge.example/live/cam1/seg_1.ts"],
  ];
  for (const [name, fields, addressText, file, linkPath] of vectors) {
    it(name, () => {
      const edge = config(fields);
      const address = addressText === null ? null : parseIpAddress(addressText);
      const sign = new EdgeLinks(edge, new ManualClock(NOW_MS)).forViewer("live", "cam1", address)!;
      const expires = Math.floor(NOW_MS / 1000) + edge.expiresSeconds;
      const uri = new URL(linkPath).pathname;
      const remoteAddr = edge.bindIp ? address!.text : "";
      expect(sign(file)).to.equal(`${linkPath}?md5=${nginxMd5(expires, uri, remoteAddr)}&expires=${expires}`);
    });
  }

  it("signs nothing for a bound link without an address", () => {
    expect(new EdgeLinks(config(), new ManualClock(NOW_MS)).forViewer("live", "cam1", null)).to.equal(null);
  });

  it("signs an unbound link without an address", () => {
    const sign = new EdgeLinks(config({ bindIp: false }), new ManualClock(NOW_MS)).forViewer("live", "cam1", null)!;
    const expires = Math.floor(NOW_MS / 1000) + 60;
    expect(sign("seg_1.ts")).to.equal(
      `https://edge.example/live/cam1/seg_1.ts?md5=${nginxMd5(expires, "/live/cam1/seg_1.ts", "")}&expires=${expires}`,
    );
  });

  it("gives one playlist's links one expiry, taken when the signer is made", () => {
    const clock = new ManualClock(NOW_MS);
    const sign = new EdgeLinks(config(), clock).forViewer("live", "cam1", parseIpAddress("203.0.113.7"))!;
    const first = sign("seg_1.ts");
    clock.advance(10_000);
    expect(new URL(sign("seg_2.ts")).searchParams.get("expires")).to.equal(new URL(first).searchParams.get("expires"));
    expect(new URL(first).searchParams.get("expires")).to.equal(String(1_700_000_060));
  });

  it("signs a different value for another file, address, channel or time", () => {
    const clock = new ManualClock(NOW_MS);
    const links = new EdgeLinks(config(), clock);
    const md5 = (url: string) => new URL(url).searchParams.get("md5");
    const a = parseIpAddress("203.0.113.7");
    const base = md5(links.forViewer("live", "cam1", a)!("seg_1.ts"));
    expect(md5(links.forViewer("live", "cam1", a)!("seg_2.ts"))).to.not.equal(base);
    expect(md5(links.forViewer("live", "cam1", parseIpAddress("203.0.113.8"))!("seg_1.ts"))).to.not.equal(base);
    expect(md5(links.forViewer("live", "cam2", a)!("seg_1.ts"))).to.not.equal(base);
    clock.advance(1000);
    expect(md5(links.forViewer("live", "cam1", a)!("seg_1.ts"))).to.not.equal(base);
  });
});
