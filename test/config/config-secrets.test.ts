import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { configSecrets } from "../../plugin/src/config-secrets.js";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import { pluginConfigSchema, type PluginConfig } from "../../plugin/src/plugin-config-schema.js";

/** API tokens must be random (the schema measures it): made fresh for each run. */
const API_TOKEN = randomBytes(32).toString("base64url");
const OLD_API_TOKEN = randomBytes(32).toString("base64url");
const parse = (input: Record<string, unknown>) => parseConfig(pluginConfigSchema, input) as PluginConfig;

describe("configSecrets: every secret a plugin configuration holds", () => {
  it("a default configuration holds none", () => {
    expect(configSecrets(parse({}))).to.deep.equal([]);
  });

  const cases: [string, Record<string, unknown>, string[]][] = [
    ["the API token and the previous ones", { api: { token: API_TOKEN, previousTokens: [OLD_API_TOKEN] } }, [OLD_API_TOKEN, API_TOKEN]],
    ["the metrics token", { api: { token: API_TOKEN, metricsToken: OLD_API_TOKEN } }, [API_TOKEN, OLD_API_TOKEN]],
    [
      "the named credentials' tokens",
      { api: { token: API_TOKEN, credentials: [{ name: "alice", token: OLD_API_TOKEN, role: "operator" }] } },
      [API_TOKEN, OLD_API_TOKEN],
    ],
    [
      "the play signing secrets",
      { auth: { securetoken: { secrets: ["play-secret-0123456789", "play-secret-older-0123"] } } },
      ["play-secret-0123456789", "play-secret-older-0123"],
    ],
    [
      "the publish signing secrets",
      { publish: { securetoken: { secrets: ["publish-secret-0123456789"] } } },
      ["publish-secret-0123456789"],
    ],
    [
      "users' tokens and plaintext passwords",
      { auth: { users: [{ login: "ann", password: "plain-pass-1", tokens: ["tok-a", "tok-b"], packages: ["*"] }] } },
      ["tok-a", "tok-b", "plain-pass-1"],
    ],
    [
      "the edge signing secret",
      { hls: { dir: "/tmp/x", edge: { baseUrl: "https://edge.example", secret: "edge-secret-0123456789" } } },
      ["edge-secret-0123456789"],
    ],
  ];
  for (const [name, input, secrets] of cases) {
    it(name, () => {
      expect(configSecrets(parse(input))).to.deep.equal(secrets);
    });
  }

  it("a hashed password is not a secret to redact (it never matches what a viewer sends)", () => {
    const hash = "scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA$" + "A".repeat(43);
    const secrets = configSecrets(parse({ auth: { users: [{ login: "ann", password: hash, packages: ["*"] }] } }));
    expect(secrets).to.deep.equal([]);
  });

  it("the credentials in the backend's URL, not the URL", () => {
    const secrets = configSecrets(
      parse({ auth: { backend: { type: "http-request", url: "http://bob:hunter2-pw@auth.example/check?apikey=k3y-0123456789" } } }),
    );
    expect(secrets).to.include("hunter2-pw");
    expect(secrets.join(" ")).to.not.include("auth.example");
  });

  it("each webhook's secret and the credentials in its URL, not the URL", () => {
    const secrets = configSecrets(
      parse({
        events: {
          webhooks: [
            { url: "https://hooks.example/a", secret: "webhook-secret-a-0123456789" },
            { url: "https://svc:pa55-word@hooks.example/b", secret: "webhook-secret-b-0123456789" },
          ],
          outbox: { file: "/tmp/outbox.sqlite" },
        },
      }),
    );
    expect(secrets).to.include.members(["webhook-secret-a-0123456789", "webhook-secret-b-0123456789", "pa55-word"]);
    expect(secrets.join(" ")).to.not.include("hooks.example");
  });
});
