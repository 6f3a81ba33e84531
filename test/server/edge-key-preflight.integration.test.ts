import { expect } from "chai";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import { preflightIssues } from "../../server/src/preflight.js";
import { serverConfigSchema } from "../../server/src/server-config-schema.js";

describe("--check-config reads the CloudFront key file (hls.edge.privateKeyFile)", () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), "va-edge-key-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const issuesWith = (privateKeyFile: string) =>
    preflightIssues(
      parseConfig(serverConfigSchema, {
        server: { dataDir: join(dir, "data") },
        hls: { edge: { baseUrl: "https://cdn.example", format: "cloudfront", privateKeyFile, keyPairId: "K2JCJMDEHXQW5F", bindIp: false } },
      }),
    ).filter((issue) => issue.path.startsWith("hls.edge"));

  it("an RSA private key in PEM: no issue", () => {
    const file = join(dir, "good.pem");
    writeFileSync(file, generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }));
    expect(issuesWith(file)).to.deep.equal([]);
  });

  it("a file that is no PEM key, or an EC key: one issue naming the key", () => {
    const text = join(dir, "text.pem");
    writeFileSync(text, "not a key");
    expect(issuesWith(text))
      .to.have.length(1)
      .and.to.satisfy((i: { path: string; message: string }[]) => i[0]!.message.includes("not a PEM private key"));
    const ec = join(dir, "ec.pem");
    writeFileSync(ec, generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }));
    expect(issuesWith(ec)[0]).to.include({ path: "hls.edge.privateKeyFile" });
    expect(issuesWith(ec)[0]!.message).to.include("RSA");
  });
});
