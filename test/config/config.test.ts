import { expect } from "chai";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfigFile, parseConfig, pluginConfigSchema } from "../../plugin/src/index.js";
import { serverConfigSchema } from "../../server/src/server-config-schema.js";
import { usersFileContentSchema } from "../../plugin/src/users/users-schema.js";

function issuesOf(run: () => unknown): { path: string; message: string; value?: unknown }[] {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as ConfigError).code).to.equal("VA_ERR_CONFIG_INVALID");
    return [...(error as ConfigError).issues];
  }
  throw new Error("expected a ConfigError");
}

function yamlFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "va-config-")), "config.yaml");
  writeFileSync(file, text);
  return file;
}

describe("configuration", () => {
  it("the sample with every key equals the built-in defaults", () => {
    const sample = loadConfigFile(serverConfigSchema, "samples/config.sample.yaml");
    expect(sample).to.deep.equal(parseConfig(serverConfigSchema, {}));
  });

  it("reports three mistakes at once, each with its key path and value", () => {
    const file = yamlFile(["auth:", "  defaultAction: maybe", "  denyIps: [10.0.0.1, 10.0.0.300/8]", "  alowIps: []", ""].join("\n"));
    let message = "";
    const issues = issuesOf(() => {
      try {
        loadConfigFile(pluginConfigSchema, file);
      } catch (error) {
        message = (error as Error).message;
        throw error;
      }
    });
    expect(issues).to.deep.equal([
      { path: "auth.defaultAction", message: 'must be one of "allow"|"deny"', value: "maybe" },
      { path: "auth.denyIps[1]", message: "is not an IP address or CIDR", value: "10.0.0.300/8" },
      { path: "auth.alowIps", message: 'is not a known key (did you mean "allowIps"?)' },
    ]);
    expect(message).to.equal(
      [
        `${file} has 3 error(s):`,
        '  auth.defaultAction: "maybe" must be one of "allow"|"deny"',
        '  auth.denyIps[1]: "10.0.0.300/8" is not an IP address or CIDR',
        '  auth.alowIps: is not a known key (did you mean "allowIps"?)',
      ].join("\n"),
    );
  });

  it("rejects unknown top-level keys and wrong types without defaulting them", () => {
    expect(issuesOf(() => parseConfig(pluginConfigSchema, { logg: {}, auth: { denyIps: "10.0.0.1" } }))).to.deep.equal([
      { path: "auth.denyIps", message: "must be an array, not a string", value: "10.0.0.1" },
      { path: "logg", message: 'is not a known key (did you mean "log"?)' },
    ]);
  });

  it("reports YAML syntax errors with their position", () => {
    const issues = issuesOf(() => loadConfigFile(pluginConfigSchema, yamlFile("auth:\n  denyIps: [1\n")));
    expect(issues).to.have.length.greaterThan(0);
    expect(issues[0]!.message).to.match(/^YAML: .*at line \d+, column \d+/);
  });

  it("reports a missing file clearly", () => {
    const issues = issuesOf(() => loadConfigFile(pluginConfigSchema, "/nonexistent/config.yaml"));
    expect(issues[0]!.message).to.match(/^cannot read \/nonexistent\/config.yaml: ENOENT/);
  });

  it("every sample config in samples/ is valid, and so is every users file they name", () => {
    const usersFiles = readdirSync("samples").filter((f) => f.endsWith("-users.yaml"));
    expect(usersFiles).to.include("quickstart-users.yaml");
    for (const file of readdirSync("samples").filter((f) => f.endsWith(".yaml") && !usersFiles.includes(f))) {
      expect(() => loadConfigFile(serverConfigSchema, join("samples", file)), file).to.not.throw();
    }
    for (const file of usersFiles) {
      expect(() => loadConfigFile(usersFileContentSchema, join("samples", file)), file).to.not.throw();
    }
  });

  it("requires the API token when the API is enabled", () => {
    expect(issuesOf(() => parseConfig(pluginConfigSchema, { api: { enabled: true } }))).to.deep.equal([
      {
        path: "api.token",
        message:
          "is required when the API is enabled (every route needs the credential): set api.token, or api.tokenFile for a token the server generates",
        value: "<redacted>",
      },
    ]);
  });

  it("returns a frozen configuration", () => {
    const config = parseConfig(pluginConfigSchema, { auth: { allowIps: ["10.0.0.0/8"] } });
    expect(Object.isFrozen(config.auth.allowIps)).to.equal(true);
    expect(config.auth.allowIps[0]).to.include({ family: 4, prefixLength: 8, text: "10.0.0.0/8" });
  });
});
