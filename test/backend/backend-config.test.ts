import { expect } from "chai";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { buildChain } from "../../plugin/src/build-chain.js";
import { ConfigError, loadConfigFile, parseConfig, pluginConfigSchema, type PluginConfig } from "../../plugin/src/index.js";
import { MemorySessionStore } from "../../plugin/src/sessions/memory-session-store.js";
import { systemClock } from "../../plugin/src/core/clock.js";
import { createLogger } from "../../plugin/src/core/log.js";

function issuesOf(input: unknown): { path: string; message: string; value?: unknown }[] {
  try {
    parseConfig(pluginConfigSchema, input);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return [...(error as ConfigError).issues];
  }
  throw new Error("expected a ConfigError");
}

describe("auth.backend configuration", () => {
  it("is absent by default: no backend step in the chain", () => {
    const config = parseConfig(pluginConfigSchema, {}) as PluginConfig;
    expect(config.auth.backend).to.equal(null);
    const log = createLogger("silent");
    const chain = buildChain(config, { sessions: new MemorySessionStore(systemClock, log), clock: systemClock }, log);
    expect(chain.stepNames).to.not.include("backend");
  });

  it("samples/backend.sample.yaml lists every key with its default", () => {
    const sample = loadConfigFile(pluginConfigSchema, "samples/backend.sample.yaml");
    const defaults = parseConfig(pluginConfigSchema, { auth: { backend: { type: "http-request", url: "http://127.0.0.1:6000/" } } });
    expect(sample).to.deep.equal(defaults);
  });

  for (const type of ["http", "ministra", "smarty", "iptvportal"] as const) {
    it(`the auth part of samples/${type}-backend.yaml is valid, and the step runs last`, async () => {
      const whole = parse(readFileSync(`samples/${type}-backend.yaml`, "utf8")) as Record<string, unknown>;
      const config = parseConfig(pluginConfigSchema, { log: whole.log, auth: whole.auth }) as PluginConfig;
      expect(config.auth.backend?.type).to.equal(type === "http" ? "http-request" : type);
      const log = createLogger("silent");
      const chain = buildChain(config, { sessions: new MemorySessionStore(systemClock, log), clock: systemClock }, log);
      expect(chain.stepNames.at(-1)).to.equal("backend");
      await chain.close();
    });
  }

  it("gives each typed backend its documented check path", () => {
    const pathOf = (type: string) =>
      (parseConfig(pluginConfigSchema, { auth: { backend: { type, address: "http://m" } } }) as PluginConfig).auth.backend;
    expect(pathOf("ministra")).to.include({ checkPath: "/server/api/chk_flussonic_tmp_link.php", recheckAsksBackend: false });
    expect(pathOf("smarty")).to.include({ checkPath: "/tvmiddleware/api/streamservice/token/check/", recheckAsksBackend: true });
    expect(pathOf("iptvportal")).to.include({ checkPath: "/auth/arescrypt/", recheckAsksBackend: true });
  });

  it("reports a missing or unknown type, a wrong URL, a key of another type and bad numbers, each by key path", () => {
    expect(issuesOf({ auth: { backend: { url: "http://x" } } })).to.deep.equal([
      { path: "auth.backend.type", message: 'is required: one of "http-request"|"ministra"|"smarty"|"iptvportal"' },
    ]);
    expect(issuesOf({ auth: { backend: { type: "flussonic" } } })).to.deep.equal([
      { path: "auth.backend.type", message: 'must be one of "http-request"|"ministra"|"smarty"|"iptvportal"', value: "flussonic" },
    ]);
    expect(issuesOf({ auth: { backend: { type: "ministra", url: "http://x", address: "ftp://x" } } })).to.deep.equal([
      { path: "auth.backend.address", message: "must be an absolute http:// or https:// URL without a #fragment", value: "ftp://x" },
      { path: "auth.backend.url", message: "is not a known key" },
    ]);
    expect(
      issuesOf({ auth: { backend: { type: "http-request", url: "http://x", timeoutMs: 0, connections: 0, onUnreachable: "maybe" } } }),
    ).to.deep.equal([
      { path: "auth.backend.onUnreachable", message: 'must be one of "allow"|"deny"', value: "maybe" },
      { path: "auth.backend.timeoutMs", message: "must be at least 1 ms", value: 0 },
      { path: "auth.backend.connections", message: "must be at least 1", value: 0 },
    ]);
    expect(issuesOf({ auth: { backend: { type: "smarty", address: "https://s", caFile: "/nonexistent/ca.pem" } } })).to.deep.equal([
      { path: "auth.backend.caFile", message: "is not a readable file", value: "/nonexistent/ca.pem" },
    ]);
  });
});
