import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { createSecureTokenAuthorizer } from "../../plugin/src/securetoken/securetoken-authorizer.js";
import { systemClock } from "../../plugin/src/core/clock.js";
import { securetokenSchema } from "../../plugin/src/securetoken/securetoken-schema.js";
import { parseConfig, pluginConfigSchema } from "../../plugin/src/index.js";
import { parseStoredPassword, type StoredPassword } from "../../plugin/src/users/stored-password.js";
import { verifyPassword } from "../../plugin/src/users/password-hash.js";
import { authRequest } from "../helpers/auth-requests.js";

function run(script: string, args: string[], input?: string) {
  return spawnSync(process.execPath, ["--import", "tsx", script, ...args], { encoding: "utf8", input, timeout: 20000 });
}

describe("command-line tools", function () {
  this.timeout(30000);

  it("make-link prints a full URL that the securetoken step accepts", () => {
    const result = run("plugin/src/cli/make-link.ts", [
      "--url",
      "http://127.0.0.1:8000/live/test/index.m3u8",
      "--ip",
      "127.0.0.1",
      "--ttl",
      "3600",
      "--secret",
      "quickstart-secret",
    ]);
    expect(result.status, result.stderr).to.equal(0);
    const link = result.stdout.trim();
    expect(link).to.match(/^http:\/\/127\.0\.0\.1:8000\/live\/test\/index\.m3u8\?token=[0-9a-f]{40}-[0-9a-f]{8}-\d+-\d+$/);
    const url = new URL(link);
    const step = createSecureTokenAuthorizer(parseConfig(securetokenSchema, { secrets: ["quickstart-secret"] }), systemClock, undefined);
    const verdict = step.decide(authRequest({ protocol: "hls", path: url.pathname, query: url.search.slice(1) }));
    expect(verdict).to.include({ verdict: "allow" });
  });

  it("make-token (npm run make-token and the bin's make-token) prints a new 256-bit token the API configuration accepts", () => {
    const tokens = [run("plugin/src/cli/make-token.ts", []), run("server/src/main.ts", ["make-token"])].map((result) => {
      expect(result.status, result.stderr).to.equal(0);
      expect(result.stdout).to.match(/^[A-Za-z0-9_-]{43}\n$/);
      return result.stdout.trim();
    });
    expect(tokens[0]).to.not.equal(tokens[1]);
    for (const token of tokens) expect(() => parseConfig(pluginConfigSchema, { api: { enabled: true, token } })).to.not.throw();
  });

  it("make-link refuses a --ttl over the maximum lifetime with a clear error, and honours --max-lifetime", () => {
    const long = run("plugin/src/cli/make-link.ts", ["--url", "http://h/live/test.flv", "--ttl", "86401", "--secret", "s"]);
    expect(long.status).to.equal(2);
    expect(long.stdout).to.equal("");
    expect(long.stderr).to.match(/^lifetimeSec 86401 is over the maximum lifetime of 86400 s: the server refuses such a link/);
    const raised = run("plugin/src/cli/make-link.ts", [
      "--url",
      "http://h/live/test.flv",
      "--ttl",
      "172800",
      "--max-lifetime",
      "172800",
      "--secret",
      "s",
    ]);
    expect(raised.status, raised.stderr).to.equal(0);
    const lowered = run("plugin/src/cli/make-link.ts", [
      "--url",
      "http://h/live/test.flv",
      "--ttl",
      "3600",
      "--max-lifetime",
      "600",
      "--secret",
      "s",
    ]);
    expect(lowered.status).to.equal(2);
    const bad = run("plugin/src/cli/make-link.ts", ["--url", "http://h/live/test.flv", "--max-lifetime", "x", "--secret", "s"]);
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.match(/^maxLifetimeSec NaN must be a whole number of seconds/);
  });

  it("make-link explains a missing option and exits 2", () => {
    const result = run("plugin/src/cli/make-link.ts", ["--url", "http://h/live/test.flv"]);
    expect(result.status).to.equal(2);
    expect(result.stderr).to.match(/^--url and --secret are required\nusage: make-link --url/);
  });

  it("make-link never echoes a stray argument (a forgotten --secret) or a bad URL's credentials", () => {
    const stray = run("plugin/src/cli/make-link.ts", ["--url", "http://h/live/test.flv", "stray-signing-secret-4d"]);
    expect(stray.status).to.equal(2);
    expect(stray.stderr).to.match(/^unexpected argument \(not shown: it may be a secret\)/);
    const badUrl = run("plugin/src/cli/make-link.ts", [
      "--url",
      "//viewer:url-password-7e@h/live/test.flv?token=url-token-8f",
      "--secret",
      "stray-signing-secret-4d",
    ]);
    expect(badUrl.status).to.equal(2);
    expect(badUrl.stderr).to.equal('url "//<redacted>@h/live/test.flv?token=<redacted>" is not an absolute URL\n');
    for (const secret of ["stray-signing-secret-4d", "url-password-7e", "url-token-8f"])
      expect(stray.stderr + badUrl.stderr).to.not.include(secret);
  });

  it("hash-password reads the password from stdin and prints a hash that verifies", async () => {
    const result = run("plugin/src/cli/hash-password.ts", [], "demo\n");
    expect(result.status, result.stderr).to.equal(0);
    const stored = parseStoredPassword(result.stdout.trim()) as StoredPassword;
    expect(stored.kind).to.equal("scrypt");
    expect(await verifyPassword("demo", stored)).to.equal(true);
  });

  it("each tool answers --help with a usage that names the command itself, and hash-password never echoes an argument", () => {
    for (const name of ["make-link", "hash-password", "make-token"]) {
      const result = run(`plugin/src/cli/${name}.ts`, ["--help"], "");
      expect(result.status, `${name}: ${result.stderr}`).to.equal(0);
      expect(result.stdout, name).to.match(new RegExp(`^usage: (echo -n '<password>' \\| )?${name}\\b`));
      expect(result.stdout, name).to.not.include("npm run");
    }
    const stray = run("plugin/src/cli/hash-password.ts", ["typed-password-5c"], "");
    expect(stray.status).to.equal(2);
    expect(stray.stderr).to.match(/^unexpected argument \(not shown: it may be a secret\)/);
    expect(stray.stderr + stray.stdout).to.not.include("typed-password-5c");
  });
});
