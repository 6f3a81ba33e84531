import { expect } from "chai";
import { changedKeys, RELOADABLE_KEYS } from "../../plugin/src/config/config-changes.js";

describe("changedKeys: the key paths that differ between two configurations", () => {
  const cases: [string, object, object, string[]][] = [
    [
      "nothing changed",
      { auth: { defaultAction: "deny" }, log: { level: "info" } },
      { log: { level: "info" }, auth: { defaultAction: "deny" } },
      [],
    ],
    [
      "one key of a section",
      { auth: { defaultAction: "deny", denyIps: [] } },
      { auth: { defaultAction: "allow", denyIps: [] } },
      ["auth.defaultAction"],
    ],
    [
      "keys in a stable order, sections and keys sorted",
      { log: { level: "info" }, auth: { b: 1, a: 1 } },
      { log: { level: "debug" }, auth: { b: 2, a: 2 } },
      ["auth.a", "auth.b", "log.level"],
    ],
    [
      "a key added or removed",
      { sessions: { maxPerIp: 0 } },
      { sessions: { maxPerChannel: 5 } },
      ["sessions.maxPerChannel", "sessions.maxPerIp"],
    ],
    ["a section that is not a mapping", { cluster: null }, { cluster: { redis: "redis://x" } }, ["cluster"]],
    ["a section added", {}, { api: { token: "t" } }, ["api"]],
    ["a list value compared whole", { auth: { denyIps: ["10.0.0.0/8"] } }, { auth: { denyIps: ["10.0.0.0/8", "::1"] } }, ["auth.denyIps"]],
    ["nested key order does not matter", { hls: { edge: { a: 1, b: 2 } } }, { hls: { edge: { b: 2, a: 1 } } }, []],
    ["bigints (IPv6 range keys) compare by value", { auth: { denyIps: [{ key: 1n }] } }, { auth: { denyIps: [{ key: 1n }] } }, []],
    ["a different bigint is a change", { auth: { denyIps: [{ key: 1n }] } }, { auth: { denyIps: [{ key: 2n }] } }, ["auth.denyIps"]],
    ["undefined and absent are the same", { auth: { backend: undefined } }, { auth: {} }, []],
    ["null and absent differ", { auth: { backend: null } }, { auth: {} }, ["auth.backend"]],
  ];
  for (const [name, before, after, changed] of cases) {
    it(name, () => {
      expect(changedKeys(before, after)).to.deep.equal(changed);
    });
  }

  it("names the keys a reload takes over", () => {
    expect(RELOADABLE_KEYS).to.deep.equal([
      "auth.denyIps",
      "auth.allowIps",
      "auth.trustedProxies",
      "auth.defaultAction",
      "sessions.limitPolicy",
      "sessions.maxPerIp",
      "sessions.maxPerChannel",
      "sessions.revokedForSec",
      "hls.sessionIdleSec",
      "hls.ipBinding",
      "log.level",
      "log.nmsLevel",
    ]);
  });
});
