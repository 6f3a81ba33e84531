import { expect } from "chai";
import { ConfigError, parseConfig, pluginConfigSchema } from "../../plugin/src/index.js";
import { configSecrets } from "../../plugin/src/config-secrets.js";
import type { PluginConfig } from "../../plugin/src/plugin-config-schema.js";

function issuesOf(cluster: unknown): { path: string; message: string }[] {
  try {
    parseConfig(pluginConfigSchema, { cluster });
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).issues.map(({ path, message }) => ({ path, message }));
  }
  throw new Error("expected a ConfigError");
}

const parse = (cluster: unknown) => parseConfig(pluginConfigSchema, { cluster }) as PluginConfig;

describe("cluster: exactly one of redis, sentinel or redisCluster", () => {
  it("none of them: named at the section", () => {
    expect(issuesOf({ nodeId: "e" })).to.deep.equal([{ path: "cluster", message: "needs exactly one of redis, sentinel or redisCluster" }]);
  });

  it("two of them: the second is named at its key", () => {
    expect(issuesOf({ nodeId: "e", redis: "redis://h:1", redisCluster: { nodes: ["redis://h:7000"] } })).to.deep.equal([
      { path: "cluster.redisCluster", message: "only one of redis, sentinel or redisCluster may be set (redis is)" },
    ]);
  });

  it("two of them: the error echoes the keys set, not a password", () => {
    let text = "";
    try {
      parseConfig(pluginConfigSchema, {
        cluster: { nodeId: "e", redis: "redis://h:1", sentinel: { name: "m", nodes: ["h:1"], password: "sentinel-redis-pw-01" } },
      });
    } catch (error) {
      text = JSON.stringify((error as ConfigError).issues) + (error as Error).message;
    }
    expect(text).to.include("cluster.sentinel").and.not.include("sentinel-redis-pw-01");
  });

  it("sentinel: defaults its passwords to null", () => {
    expect(
      parse({ nodeId: "e", sentinel: { name: "mymaster", nodes: ["10.0.0.1:26379", "[::1]:26380"] } }).cluster!.sentinel,
    ).to.deep.equal({
      name: "mymaster",
      nodes: ["10.0.0.1:26379", "[::1]:26380"],
      password: null,
      sentinelPassword: null,
    });
  });

  it("sentinel and redisCluster mistakes carry their key paths", () => {
    expect(issuesOf({ nodeId: "e", sentinel: { name: "m", nodes: ["h"], master: "x" } })).to.deep.equal([
      { path: "cluster.sentinel.nodes[0]", message: "must be host:port (port 1..65535)" },
      { path: "cluster.sentinel.master", message: "is not a known key (known keys: name, nodes, password, sentinelPassword)" },
    ]);
    expect(issuesOf({ nodeId: "e", sentinel: { name: "m", nodes: ["h:70000"] } })[0]!.path).to.equal("cluster.sentinel.nodes[0]");
    expect(issuesOf({ nodeId: "e", sentinel: { name: "m", nodes: [] } })).to.deep.equal([
      { path: "cluster.sentinel.nodes", message: "must name at least one Sentinel" },
    ]);
    expect(issuesOf({ nodeId: "e", redisCluster: { nodes: ["h:7000"] } })).to.deep.equal([
      { path: "cluster.redisCluster.nodes[0]", message: "must be a redis:// or rediss:// URL" },
    ]);
  });

  it("the Sentinel passwords and the Cluster URLs' credentials go to the Redactor", () => {
    expect(
      configSecrets(
        parse({ nodeId: "e", sentinel: { name: "m", nodes: ["h:1"], password: "redis-pass-01", sentinelPassword: "sentinel-pass-01" } }),
      ),
    ).to.deep.equal(["redis-pass-01", "sentinel-pass-01"]);
    expect(configSecrets(parse({ nodeId: "e", redisCluster: { nodes: ["redis://user:cluster-pass-01@h:7000"] } }))).to.include(
      "cluster-pass-01",
    );
    expect(configSecrets(parse({ nodeId: "e", redis: "redis://:single-pass-01@h:6379" }))).to.include("single-pass-01");
  });
});
