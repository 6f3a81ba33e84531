import { expect } from "chai";
import { ClusterKeys } from "../../plugin/src/cluster/cluster-keys.js";

describe("ClusterKeys: every key of a deployment in one Redis Cluster slot", () => {
  const keys = new ClusterKeys("va");
  const cases: [string, string, string][] = [
    ["nodes", keys.nodes, "{va}:nodes"],
    ["sessionsOf", keys.sessionsOf("edge-1"), "{va}:sessions:edge-1"],
    ["countersOf", keys.countersOf("edge-1"), "{va}:counters:edge-1"],
    ["counter user", keys.counter("user", "ann"), "{va}:count:user:ann"],
    ["counter ip", keys.counter("ip", "2001:db8::1"), "{va}:count:ip:2001:db8::1"],
    ["counter channel", keys.counter("channel", "live/cam1"), "{va}:count:channel:live/cam1"],
    ["commands", keys.commands, "{va}:commands"],
    ["revoked", keys.revoked, "{va}:revoked"],
    ["stats", keys.stats, "{va}:stats"],
  ];
  for (const [name, key, expected] of cases) {
    it(`${name}: ${expected}`, () => {
      expect(key).to.equal(expected);
    });
  }

  it("two deployments never share a key", () => {
    expect(new ClusterKeys("a").nodes).to.not.equal(new ClusterKeys("b").nodes);
    expect(new ClusterKeys("prod:x").commands).to.equal("{prod:x}:commands");
  });
});
