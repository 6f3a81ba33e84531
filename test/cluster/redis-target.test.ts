import { expect } from "chai";
import { clusterSchema } from "../../plugin/src/cluster/cluster-schema.js";
import { firstKeyOf, hostPortOf, redisTargetOf } from "../../plugin/src/cluster/redis-target.js";

describe("redisTargetOf / firstKeyOf: where the cluster layer's commands go", () => {
  const parse = (section: Record<string, unknown>) => clusterSchema.parse({ nodeId: "e", ...section })!;

  it("one server, a Sentinel-watched master or a Redis Cluster, as the section names it", () => {
    expect(redisTargetOf(parse({ redis: "redis://h:1" }))).to.deep.equal({ kind: "single", url: "redis://h:1" });
    expect(redisTargetOf(parse({ sentinel: { name: "m", nodes: ["h:26379"], password: "pw-of-redis" } }))).to.deep.equal({
      kind: "sentinel",
      name: "m",
      nodes: ["h:26379"],
      password: "pw-of-redis",
      sentinelPassword: null,
    });
    expect(redisTargetOf(parse({ redisCluster: { nodes: ["redis://h:7000"] } }))).to.deep.equal({
      kind: "cluster",
      nodes: ["redis://h:7000"],
    });
  });

  it("host:port, IPv6 in brackets", () => {
    expect(hostPortOf("10.0.0.5:26379")).to.deep.equal({ host: "10.0.0.5", port: 26379 });
    expect(hostPortOf("[::1]:26379")).to.deep.equal({ host: "::1", port: 26379 });
  });

  const cases: [string, string[], string | undefined][] = [
    ["a script: its first key", ["EVALSHA", "abc", "2", "{va}:nodes", "{va}:x", "arg"], "{va}:nodes"],
    ["a script without keys: any node", ["EVAL", "return 1", "0"], undefined],
    ["XREAD: its first stream", ["XREAD", "COUNT", "10", "BLOCK", "2000", "STREAMS", "{va}:commands", "0-0"], "{va}:commands"],
    ["any other command: its first argument", ["HGETALL", "{va}:revoked"], "{va}:revoked"],
  ];
  for (const [name, args, expected] of cases) {
    it(name, () => {
      expect(firstKeyOf(args)).to.equal(expected);
    });
  }
});
