import { expect } from "chai";
import { RevocationList } from "../../plugin/src/sessions/revocation-list.js";
import { credentialKey } from "../../plugin/src/sessions/credential-key.js";
import { VerdictCache } from "../../plugin/src/backend/verdict-cache.js";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import { pluginConfigSchema } from "../../plugin/src/plugin-config-schema.js";
import { ConfigError } from "../../plugin/src/core/errors.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { authRequest } from "../helpers/auth-requests.js";

describe("revocations", () => {
  describe("RevocationList", () => {
    it("refuses a revoked token, address or user until the revocation lapses", () => {
      const clock = new ManualClock(1_000_000);
      const list = new RevocationList(clock);
      list.add({ kind: "token", key: credentialKey("token", "tok-1")!, untilMs: clock.now() + 60_000 });
      list.add({ kind: "ip", key: "10.0.0.7", untilMs: clock.now() + 120_000 });
      list.add({ kind: "user", key: "alice", untilMs: clock.now() + 60_000 });
      const elsewhere = authRequest({ ip: "10.0.0.8" });
      expect(list.refusalOfCredential(authRequest({ query: "token=tok-1" }))).to.equal("the token is revoked");
      expect(list.refusalOfCredential(authRequest({ query: "token=tok-2" }))).to.equal(null);
      expect(list.refusalOfViewer(authRequest({ ip: "10.0.0.7" }), undefined)).to.equal("address 10.0.0.7 is revoked");
      expect(list.refusalOfViewer(elsewhere, { userId: "alice" })).to.equal("user alice is revoked");
      expect(list.refusalOfViewer(elsewhere, { name: "alice" })).to.equal("user alice is revoked");
      expect(list.refusalOfViewer(elsewhere, { userId: "bob" })).to.equal(null);
      expect(JSON.stringify(list.list())).to.not.include("tok-1");
      clock.advance(60_000);
      expect(list.refusalOfCredential(authRequest({ query: "token=tok-1" }))).to.equal(null);
      expect(list.refusalOfViewer(elsewhere, { userId: "alice" })).to.equal(null);
      expect(list.list().map((r) => r.kind)).to.deep.equal(["ip"]);
    });

    it("a lifted revocation refuses no more; lifting one not in force says so", () => {
      const clock = new ManualClock(0);
      const list = new RevocationList(clock);
      list.add({ kind: "ip", key: "10.0.0.7", untilMs: 10_000 });
      expect(list.lift("ip", "10.0.0.7")).to.equal(true);
      expect(list.lift("ip", "10.0.0.7")).to.equal(false);
      expect(list.refusalOfViewer(authRequest({ ip: "10.0.0.7" }), undefined)).to.equal(null);
    });
  });

  it("the verdict cache can be emptied, so a cached allow does not outlive a revocation", async () => {
    const cache = new VerdictCache<{ ok: boolean }>(100, new ManualClock(0));
    let calls = 0;
    const load = async () => ({ ok: ++calls > 0 });
    await cache.resolve("k", load, () => 60_000);
    await cache.resolve("k", load, () => 60_000);
    expect(calls).to.equal(1);
    cache.clear();
    expect(cache.size).to.equal(0);
    await cache.resolve("k", load, () => 60_000);
    expect(calls).to.equal(2);
  });

  it("a cluster section is checked key by key", () => {
    let issues: { path: string }[] = [];
    try {
      parseConfig(pluginConfigSchema, { cluster: { redis: "http://x", nodeId: "edge a", onRedisDown: "maybe", timeoutMs: 5 } });
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      issues = [...(error as ConfigError).issues];
    }
    expect(issues.map((i) => i.path).sort()).to.deep.equal(["cluster.nodeId", "cluster.onRedisDown", "cluster.redis", "cluster.timeoutMs"]);
    expect(parseConfig(pluginConfigSchema, {}).cluster).to.equal(null);
  });
});
