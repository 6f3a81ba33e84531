import { expect } from "chai";
import { generateKeyPairSync } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getSignedUrl } from "@aws-sdk/cloudfront-signer";
import { configSecrets } from "../../plugin/src/config-secrets.js";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import { ConfigError } from "../../plugin/src/core/errors.js";
import { EdgeLinks } from "../../plugin/src/hls/edge-links.js";
import { readPrivateKey } from "../../plugin/src/hls/edge-signers.js";
import { parseIpAddress } from "../../plugin/src/net/ip-address.js";
import { pluginConfigSchema } from "../../plugin/src/plugin-config-schema.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { thrown } from "../helpers/thrown.js";

/** Akamai's own token library (CommonJS, no types): the oracle the Akamai links are compared with. */
const EdgeAuth = createRequire(import.meta.url)("akamai-edgeauth") as new (options: Record<string, unknown>) => {
  generateACLToken(acl: string): string;
  generateURLToken(url: string): string;
};

const AKAMAI_KEY = "52a152a152a152a152a152a152a152a1";
const TRANSITION_KEY = "0f0e0d0c0b0a09080706050403020100ffeeddccbbaa99887766554433221100";
const NOW_MS = 1_700_000_000_600;
const NOW_SEC = 1_700_000_000;
const viewer = parseIpAddress("203.0.113.7")!;

/** A parsed plugin configuration with this `hls.edge`. */
const parsedEdge = (edge: Record<string, unknown>) => parseConfig(pluginConfigSchema, { hls: { dir: "/tmp/x", edge } });
const linksOf = (edge: Record<string, unknown>) => new EdgeLinks(parsedEdge(edge).hls.edge!, new ManualClock(NOW_MS));

describe("CDN token formats for edge mode: byte-identical to the vendors' libraries", function () {
  let dir: string;
  let keyFile: string;
  let pem: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "va-edge-formats-"));
    pem = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
    keyFile = join(dir, "cloudfront.pem");
    writeFileSync(keyFile, pem, { mode: 0o600 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe("akamai-edgeauth (Edge Authorization Token 2.0)", () => {
    const base = { baseUrl: "https://cdn.example/hls", format: "akamai-edgeauth", secret: AKAMAI_KEY, expiresSeconds: 120 };

    it("an ACL token for the channel's folder, bound to the viewer's address, as the library makes it", () => {
      const link = linksOf(base).forViewer("live", "news", viewer)!("seg_1.ts");
      const oracle = new EdgeAuth({ key: AKAMAI_KEY, ip: "203.0.113.7", endTime: NOW_SEC + 120 }).generateACLToken("/hls/live/news/*");
      expect(link).to.equal(`https://cdn.example/hls/live/news/seg_1.ts?__token__=${oracle}`);
      expect(oracle).to.match(/^ip=203\.0\.113\.7~exp=1700000120~acl=\/hls\/live\/news\/\*~hmac=[0-9a-f]{64}$/);
    });

    it("with a start time and unbound: st= then exp=", () => {
      const link = linksOf({ ...base, bindIp: false, startTime: true }).forViewer("live", "news", null)!("seg_2.ts");
      const oracle = new EdgeAuth({ key: AKAMAI_KEY, startTime: NOW_SEC, endTime: NOW_SEC + 120 }).generateACLToken("/hls/live/news/*");
      expect(link).to.equal(`https://cdn.example/hls/live/news/seg_2.ts?__token__=${oracle}`);
      expect(oracle).to.match(/^st=1700000000~exp=/);
    });

    it("URL tokens: each segment's path signed (url= in the HMAC, not in the token)", () => {
      const of = linksOf({ ...base, tokenScope: "url" }).forViewer("live", "news", viewer)!;
      for (const file of ["seg_1.ts", "seg_2.ts"]) {
        const oracle = new EdgeAuth({ key: AKAMAI_KEY, ip: "203.0.113.7", endTime: NOW_SEC + 120 }).generateURLToken(
          `/hls/live/news/${file}`,
        );
        expect(of(file)).to.equal(`https://cdn.example/hls/live/news/${file}?__token__=${oracle}`);
      }
      expect(of("seg_1.ts")).not.to.equal(of("seg_2.ts"));
    });

    it("a transition key signs when set", () => {
      const link = linksOf({ ...base, transitionSecret: TRANSITION_KEY }).forViewer("live", "news", viewer)!("seg_1.ts");
      const oracle = new EdgeAuth({ key: TRANSITION_KEY, ip: "203.0.113.7", endTime: NOW_SEC + 120 }).generateACLToken("/hls/live/news/*");
      expect(link).to.equal(`https://cdn.example/hls/live/news/seg_1.ts?__token__=${oracle}`);
    });

    it("configuration: the key must be hex, and both keys are secrets", () => {
      const message = thrown(() => parsedEdge({ ...base, secret: "not-hex-but-long-enough-0123456789" }), ConfigError).message;
      expect(message).to.include("hls.edge.secret").and.include("hex");
      expect(message).not.to.include("not-hex-but-long-enough");
      expect(thrown(() => parsedEdge({ ...base, transitionSecret: "abc" }), ConfigError).message).to.include("hls.edge.transitionSecret");
      expect(configSecrets(parsedEdge({ ...base, transitionSecret: TRANSITION_KEY }))).to.include.members([AKAMAI_KEY, TRANSITION_KEY]);
      expect(thrown(() => parsedEdge({ ...base, keyPairId: "K1" }), ConfigError).message)
        .to.include("hls.edge.keyPairId")
        .and.include("not read by format");
    });
  });

  describe("cloudfront (signed URL, canned policy)", () => {
    const base = () => ({
      baseUrl: "https://d111111abcdef8.cloudfront.net",
      format: "cloudfront",
      privateKeyFile: keyFile,
      keyPairId: "K2JCJMDEHXQW5F",
      bindIp: false,
      expiresSeconds: 300,
    });

    it("each segment URL as getSignedUrl signs it", () => {
      const of = linksOf(base()).forViewer("live", "news", viewer)!;
      for (const file of ["seg_1700000000.ts", "seg_1700000001.ts"]) {
        const url = `https://d111111abcdef8.cloudfront.net/live/news/${file}`;
        const oracle = getSignedUrl({
          url,
          keyPairId: "K2JCJMDEHXQW5F",
          dateLessThan: new Date((NOW_SEC + 300) * 1000).toISOString(),
          privateKey: pem,
        });
        expect(of(file)).to.equal(oracle);
        expect(oracle).to.match(/\?Expires=1700000300&Key-Pair-Id=K2JCJMDEHXQW5F&Signature=[A-Za-z0-9~_-]+$/);
      }
    });

    it("a base URL with a path: the path is part of the signed resource", () => {
      const link = linksOf({ ...base(), baseUrl: "https://cdn.example/media/" }).forViewer("live", "news", null)!("seg_1.ts");
      const url = "https://cdn.example/media/live/news/seg_1.ts";
      expect(link).to.equal(
        getSignedUrl({ url, keyPairId: "K2JCJMDEHXQW5F", dateLessThan: new Date((NOW_SEC + 300) * 1000).toISOString(), privateKey: pem }),
      );
    });

    it("configuration: key file and key id required, bindIp false, a readable PEM key", () => {
      const missing = thrown(() => parsedEdge({ baseUrl: "https://cdn.example", format: "cloudfront" }), ConfigError).message;
      expect(missing).to.include("hls.edge.privateKeyFile").and.include("hls.edge.keyPairId").and.include("hls.edge.bindIp");
      expect(thrown(() => linksOf({ ...base(), privateKeyFile: join(dir, "none.pem") }), ConfigError).message)
        .to.include("hls.edge.privateKeyFile")
        .and.include("is not readable (ENOENT)");
      const notPem = join(dir, "not.pem");
      writeFileSync(notPem, "hello");
      chmodSync(notPem, 0o600);
      expect(readPrivateKey(notPem)).to.be.a("string").and.include("not a PEM private key");
      expect(thrown(() => linksOf({ ...base(), privateKeyFile: notPem }), ConfigError).message).to.include("hls.edge.privateKeyFile");
      expect(readPrivateKey(keyFile)).not.to.be.a("string");
      expect(thrown(() => parsedEdge({ ...base(), secret: "0123456789abcdef0123" }), ConfigError).message).to.include(
        "not read by format cloudfront",
      );
    });
  });
});
