import { expect } from "chai";
import { ClusterKeys } from "../../plugin/src/cluster/cluster-keys.js";

describe("ClusterKeys: every key a multi-key script touches in one Redis Cluster slot", () => {
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
    // Touched alone by its scripts: a tag of its own spreads the links over the shards.
    ["uses", keys.uses("k1"), "{va:uses:k1}"],
  ];
  for (const [name, key, expected] of cases) {
    it(`${name}: ${expected}`, () => {
      expect(key).to.equal(expected);
    });
  }

  it("two links' use counters sit in slots of their own, apart from the deployment's tag", () => {
    expect(hashTagOf(keys.uses("k1"))).to.not.equal(hashTagOf(keys.uses("k2")));
    expect(hashTagOf(keys.uses("k1"))).to.not.equal(hashTagOf(keys.nodes));
    expect(new ClusterKeys("b").uses("k1")).to.not.equal(keys.uses("k1"));
  });

  it("two deployments never share a key", () => {
    expect(new ClusterKeys("a").nodes).to.not.equal(new ClusterKeys("b").nodes);
    expect(new ClusterKeys("prod:x").commands).to.equal("{prod:x}:commands");
  });
});

/** What Redis Cluster hashes: the text between the first `{` and the next `}` when not empty, else the key. */
function hashTagOf(key: string): string {
  const open = key.indexOf("{");
  const close = key.indexOf("}", open + 1);
  return open >= 0 && close > open + 1 ? key.slice(open + 1, close) : key;
}
