import { expect } from "chai";
import { RevocationList } from "../../plugin/src/sessions/revocation-list.js";
import { credentialKey } from "../../plugin/src/sessions/credential-key.js";
import { VerdictCache } from "../../plugin/src/backend/verdict-cache.js";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import { pluginConfigSchema } from "../../plugin/src/config/plugin-config-schema.js";
import { ConfigError } from "../../plugin/src/core/errors.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { authRequest } from "../helpers/auth-requests.js";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { startPublishingNms, type NmsInstance } from "../helpers/nms-instance.js";
import { waitFor } from "../helpers/wait-for.js";
import { TEST_API_TOKEN } from "../helpers/api-tokens.js";

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

  (hasFfmpeg ? describe : describe.skip)("in one process (real NMS, real API)", function () {
    this.timeout(60_000);
    const TOKEN = TEST_API_TOKEN;
    let nms: NmsInstance;
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`http://127.0.0.1:${nms.auth.api!.port}${path}`, {
        method, headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json()) as any };
    };
    before(async () => {
      nms = await startPublishingNms({ auth: { defaultAction: "allow" }, api: { enabled: true, port: 0, token: TOKEN } }, "live/rev");
      await nms.auth.ready;
    });
    after(async () => {
      await nms?.stop();
    });

    it("a revoked address stays refused (not only its sessions of the moment) until lifted", async () => {
      const url = `http://127.0.0.1:${nms.httpPort}/live/rev.flv`;
      const abort = new AbortController();
      const playing = httpGetFor(url, 30_000, { abortSignal: abort.signal });
      await waitFor("one viewer playing", () => (nms.auth.sessions.count({ state: "playing" }) === 1 ? true : undefined));
      expect((await api("POST", "/api/sessions/revoke", { ip: "not-an-ip" })).status).to.equal(400);
      expect((await api("POST", "/api/sessions/revoke", { ip: "127.0.0.1", ttlSec: 0 })).status).to.equal(400);
      const revoked = await api("POST", "/api/sessions/revoke", { ip: "127.0.0.1", ttlSec: 600 });
      expect(revoked.status).to.equal(200);
      expect(revoked.json.closed).to.have.length(1);
      const cut = await playing;
      expect(cut.bytes).to.be.above(0);
      const refused = await httpGetFor(url, 1000);
      expect(refused.status).to.equal(403);
      expect(refused.bytes).to.be.below(200);
      expect((await api("GET", "/api/revocations")).json.revocations).to.deep.include.members([{ kind: "ip", ip: "127.0.0.1", until: revoked.json.until }]);
      expect((await api("DELETE", "/api/revocations/ip/127.0.0.1")).status).to.equal(200);
      const again = await httpGetFor(url, 1000);
      expect(again.status).to.equal(200);
      expect(again.body.subarray(0, 3).toString()).to.equal("FLV");
      abort.abort();
    });
  });
});
