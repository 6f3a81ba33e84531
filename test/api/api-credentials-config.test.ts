import { expect } from "chai";
import { generateApiToken } from "../../plugin/src/api/api-token.js";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import type { ConfigError } from "../../plugin/src/core/errors.js";
import { pluginConfigSchema, type PluginConfig } from "../../plugin/src/plugin-config-schema.js";

const ADMIN = generateApiToken();
const ALICE = generateApiToken();
const BOB = generateApiToken();

function issuesOf(api: Record<string, unknown>): { path: string; message: string }[] {
  try {
    parseConfig(pluginConfigSchema, { api: { enabled: true, token: ADMIN, ...api } });
  } catch (error) {
    return (error as ConfigError).issues.map(({ path, message }) => ({ path, message }));
  }
  return [];
}

describe("api.credentials: named credentials with a role", () => {
  it("takes names, tokens and roles, and defaults to none with a 90-day audit", () => {
    const config = parseConfig(pluginConfigSchema, {
      api: { enabled: true, token: ADMIN, credentials: [{ name: "alice", token: ALICE, role: "operator" }], auditRetentionDays: 30 },
    }) as PluginConfig;
    expect(config.api.credentials).to.deep.equal([{ name: "alice", token: ALICE, role: "operator" }]);
    expect(config.api.auditRetentionDays).to.equal(30);
    const defaults = parseConfig(pluginConfigSchema, {}) as PluginConfig;
    expect([defaults.api.credentials, defaults.api.auditRetentionDays]).to.deep.equal([[], 90]);
  });

  it("refuses a weak token at its own path, without printing it", () => {
    const issues = issuesOf({ credentials: [{ name: "alice", token: "alice-password", role: "viewer" }] });
    expect(issues).to.have.length(1);
    expect(issues[0]!.path).to.equal("api.credentials[0].token");
    expect(issues[0]!.message).to.include("32 characters").and.not.include("alice-password");
  });

  it("refuses a duplicate or reserved name, a shared token, an unknown role or key", () => {
    expect(
      issuesOf({
        credentials: [
          { name: "alice", token: ALICE, role: "viewer" },
          { name: "alice", token: BOB, role: "viewer" },
        ],
      }).map((i) => i.path),
    ).to.deep.equal(["api.credentials[1].name"]);
    for (const name of ["admin", "metrics", "unknown"])
      expect(
        issuesOf({ credentials: [{ name, token: ALICE, role: "viewer" }] }).map((i) => i.path),
        name,
      ).to.deep.equal(["api.credentials[0].name"]);
    expect(issuesOf({ credentials: [{ name: "alice", token: ADMIN, role: "viewer" }] })).to.deep.equal([
      { path: "api.credentials[0].token", message: "must differ from every other API token" },
    ]);
    expect(
      issuesOf({
        credentials: [
          { name: "alice", token: ALICE, role: "viewer" },
          { name: "bob", token: ALICE, role: "admin" },
        ],
      }).map((i) => i.path),
    ).to.deep.equal(["api.credentials[1].token"]);
    expect(issuesOf({ credentials: [{ name: "alice", token: ALICE, role: "root" }] }).map((i) => i.path)).to.deep.equal([
      "api.credentials[0].role",
    ]);
    expect(issuesOf({ credentials: [{ name: "alice", token: ALICE, role: "viewer", extra: 1 }] })[0]!.path).to.match(
      /^api\.credentials\[0\]/,
    );
    expect(issuesOf({ credentials: [{ name: "a b", token: ALICE, role: "viewer" }] }).map((i) => i.path)).to.deep.equal([
      "api.credentials[0].name",
    ]);
    expect(issuesOf({ auditRetentionDays: 0 }).map((i) => i.path)).to.deep.equal(["api.auditRetentionDays"]);
  });
});
