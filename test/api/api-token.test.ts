import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, parseConfig, pluginConfigSchema, type PluginConfig } from "../../plugin/src/index.js";
import { estimateTokenBits, generateApiToken, tokenWeakness } from "../../plugin/src/api/api-token.js";
import { withApiTokenFromFile } from "../../plugin/src/api-token-file.js";
import { makeTokenCommand } from "../../plugin/src/cli/make-token.js";
import { auditSecrets } from "../helpers/log-audit.js";
import { TEST_API_TOKEN } from "../helpers/api-tokens.js";

const HINT = "make one with `npm run -s make-token`, `nms-viewer-auth make-token` or `openssl rand -base64 32`";

function issuesOf(run: () => unknown): { path: string; message: string; value?: unknown }[] {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return [...(error as ConfigError).issues];
  }
  throw new Error("expected a ConfigError");
}

describe("API credentials that cannot be guessed", function () {
  this.timeout(60_000);

  describe("the strength rule", () => {
    it("refuses the quick start's old token, password-like and repeated text at api.token, saying how to make one", () => {
      const cases: [string, string][] = [
        ["quickstart-admin", `has fewer than 32 characters: an API token needs at least 32 random characters (128 bits); ${HINT}`],
        [
          "password123password123password123",
          `has too little randomness (about 56 of the 128 bits needed: runs, sequences or repeats count for nothing); ${HINT}`,
        ],
        [
          "password1234567890password1234567890",
          `has too little randomness (about 62 of the 128 bits needed: runs, sequences or repeats count for nothing); ${HINT}`,
        ],
        [
          "a".repeat(40),
          `has too little randomness (about 4 of the 128 bits needed: runs, sequences or repeats count for nothing); ${HINT}`,
        ],
        [
          "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF",
          `has too little randomness (about 17 of the 128 bits needed: runs, sequences or repeats count for nothing); ${HINT}`,
        ],
        [
          "correct horse battery staple and more words",
          `must be a random token of base64url, base64 or hex characters (at least 128 bits); ${HINT}`,
        ],
      ];
      for (const [token, message] of cases) {
        expect(
          issuesOf(() => parseConfig(pluginConfigSchema, { api: { enabled: true, token } })),
          token,
        ).to.deep.equal([{ path: "api.token", message, value: "<redacted>" }]);
      }
    });

    it("refuses a weak previous token at its own path, and never prints it", () => {
      const error = (() => {
        try {
          parseConfig(pluginConfigSchema, {
            api: { enabled: true, token: TEST_API_TOKEN, previousTokens: [generateApiToken(), "old-admin-token-1"] },
          });
        } catch (e) {
          return e as ConfigError;
        }
        throw new Error("expected a ConfigError");
      })();
      expect(error.issues).to.deep.equal([
        {
          path: "api.previousTokens[1]",
          message: `has fewer than 32 characters: an API token needs at least 32 random characters (128 bits); ${HINT}`,
          value: "<redacted>",
        },
      ]);
      expect(error.message).to.not.include("old-admin-token-1");
    });

    it("accepts every 32-byte random token, in base64url, base64 and hex (2,000 each)", () => {
      for (const encoding of ["base64url", "base64", "hex"] as const) {
        for (let i = 0; i < 2000; i++) {
          const token = randomBytes(32).toString(encoding);
          expect(tokenWeakness(token), `${encoding} ${token} (${estimateTokenBits(token)} bits)`).to.equal(undefined);
        }
      }
      expect(() =>
        parseConfig(pluginConfigSchema, { api: { enabled: true, token: generateApiToken(), previousTokens: [generateApiToken()] } }),
      ).to.not.throw();
    });

    it("make-token prints a new token that the configuration accepts, and refuses arguments without echoing them", () => {
      const out: string[] = [];
      const err: string[] = [];
      expect(
        makeTokenCommand(
          [],
          (t) => out.push(t),
          (t) => err.push(t),
        ),
      ).to.equal(0);
      expect(out.join("")).to.match(/^[A-Za-z0-9_-]{43}\n$/);
      expect(tokenWeakness(out.join("").trim())).to.equal(undefined);
      expect(
        makeTokenCommand(
          ["pasted-secret-9f"],
          (t) => out.push(t),
          (t) => err.push(t),
        ),
      ).to.equal(2);
      expect(err.join("")).to.not.include("pasted-secret-9f");
    });
  });

  describe("api.tokenFile", () => {
    let dir: string;
    const config = (tokenFile: string) => parseConfig(pluginConfigSchema, { api: { enabled: true, tokenFile } }) as PluginConfig;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "va-token-file-"));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("creates a missing file with a new 256-bit token, 0600 in a 0700 folder whatever the umask, and reads the same token after", () => {
      const file = join(dir, "data", "api-token");
      const before = process.umask(0o022);
      let token: string;
      try {
        token = withApiTokenFromFile(config(file)).api.token!;
      } finally {
        process.umask(before);
      }
      auditSecrets(token);
      expect(readFileSync(file, "utf8")).to.equal(`${token}\n`);
      expect(statSync(file).mode & 0o777).to.equal(0o600);
      expect(statSync(join(dir, "data")).mode & 0o777).to.equal(0o700);
      expect(tokenWeakness(token)).to.equal(undefined);
      expect(withApiTokenFromFile(config(file)).api.token, "the second start").to.equal(token);
    });

    it("narrows an existing file that others can read to 0600", () => {
      const file = join(dir, "api-token");
      const token = generateApiToken();
      writeFileSync(file, `${token}\n`);
      chmodSync(file, 0o644);
      expect(withApiTokenFromFile(config(file)).api.token).to.equal(token);
      expect(statSync(file).mode & 0o777).to.equal(0o600);
    });

    it("refuses a file that holds a weak token, at api.tokenFile, without printing it", () => {
      const file = join(dir, "api-token");
      writeFileSync(file, "quickstart-admin\n", { mode: 0o600 });
      expect(issuesOf(() => withApiTokenFromFile(config(file)))).to.deep.equal([
        {
          path: "api.tokenFile",
          message: `${file}: holds a token that has fewer than 32 characters: an API token needs at least 32 random characters (128 bits); ${HINT} (or delete the file: the server then writes a new one)`,
        },
      ]);
    });

    it("takes the token one way: token and tokenFile together are refused, neither with the API on is refused", () => {
      expect(
        issuesOf(() => parseConfig(pluginConfigSchema, { api: { enabled: true, token: TEST_API_TOKEN, tokenFile: join(dir, "t") } })),
      ).to.deep.equal([
        { path: "api.token", message: "cannot be set together with api.tokenFile: give the token one way", value: "<redacted>" },
      ]);
      expect(issuesOf(() => parseConfig(pluginConfigSchema, { api: { enabled: true } }))).to.deep.equal([
        {
          path: "api.token",
          message:
            "is required when the API is enabled (every route needs the credential): set api.token, or api.tokenFile for a token the server generates",
          value: "<redacted>",
        },
      ]);
    });
  });
});
