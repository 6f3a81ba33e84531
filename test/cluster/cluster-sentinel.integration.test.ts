import { expect } from "chai";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { waitFor } from "../helpers/wait-for.js";
import { startEdge, type Edge, waitForEdgeReady } from "../helpers/cluster-edges.js";
import { redisCli, startSentinelSet, type SentinelSet } from "../helpers/redis-topologies.js";

/** alice may hold one session at a time across all edges; the others have no limit. */
const USERS = [
  { login: "alice", tokens: ["alice-token-0001"], maxConnections: 1, packages: ["*"] },
  ...["bob", "dave", "probe"].map((login) => ({ login, tokens: [`${login}-token-0001`], packages: ["*"] })),
];

function edgeConfig(nodeId: string, set: SentinelSet, onRedisDown: "local" | "deny") {
  return {
    auth: { users: USERS },
    cluster: { sentinel: { name: set.name, nodes: set.sentinelNodes }, nodeId, onRedisDown, heartbeatMs: 300, timeoutMs: 300 },
  };
}

/** A viewer that plays until the server cuts it or the test stops it. */
function flvViewer(url: string) {
  const abort = new AbortController();
  const done = httpGetFor(url, 120_000, { abortSignal: abort.signal });
  return { done, stop: () => abort.abort() };
}

(hasFfmpeg ? describe : describe.skip)("two edges on a Sentinel-watched Redis (1 master, 1 replica, 3 Sentinels)", function () {
  this.timeout(240_000);
  let set: SentinelSet;
  let a: Edge;
  let b: Edge;

  before(async () => {
    set = await startSentinelSet(2000);
    [a, b] = await Promise.all([startEdge("sa", edgeConfig("edge-sa", set, "local")), startEdge("sb", edgeConfig("edge-sb", set, "deny"))]);
    for (const edge of [a, b]) {
      await waitForEdgeReady(edge);
    }
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await set?.stop();
  });

  const redisOf = async (edge: Edge) => (await edge.api("GET", "/api/cluster")).json.redis as string;
  const statusOn = async (edge: Edge, user: string) =>
    (await httpGetFor(`${edge.httpBase}/live/test.flv?token=${user}-token-0001`, 700)).status;

  it("the master SIGKILLed mid-run: onRedisDown in the gap, then both edges on the promoted replica within 10 s, limits and revocations kept", async () => {
    // Before: alice plays on A and is refused on B; dave is revoked everywhere.
    const alice = flvViewer(`${a.httpBase}/live/test.flv?token=alice-token-0001`);
    try {
      await waitFor("alice playing on A, seen from B", async () =>
        ((await b.api("GET", "/api/sessions?user=alice")).json.sessions as { state: string }[]).some((s) => s.state === "playing")
          ? true
          : undefined,
      );
      expect(await statusOn(b, "alice")).to.equal(403);
      expect((await b.api("POST", "/api/sessions/revoke", { user: "dave" })).status).to.equal(200);
      await waitFor("dave's revocation on A", async () =>
        (await a.api("GET", "/api/revocations")).json.revocations.length === 1 ? true : undefined,
      );
      expect(await statusOn(a, "dave")).to.equal(403);

      await set.killMaster();
      const killedAt = Date.now();
      // The gap: both edges notice at their next heartbeat, long before the Sentinels agree (2 s down-after).
      await waitFor(
        "both edges see Redis down",
        async () => ((await redisOf(a)) === "down" && (await redisOf(b)) === "down" ? true : undefined),
        10_000,
        100,
      );
      const inGap = { a: await statusOn(a, "bob"), b: await statusOn(b, "bob"), stillDown: (await redisOf(b)) === "down" };
      expect(inGap.stillDown, "the check ran inside the gap").to.equal(true);
      expect(inGap.a, "edge A (onRedisDown: local) admits on its own counts").to.equal(200);
      expect(inGap.b, "edge B (onRedisDown: deny) refuses").to.equal(403);

      const promotedAt = await waitFor(
        "a Sentinel names the replica master",
        async () => ((await set.masterPortNow()) === set.replicaPort ? Date.now() : undefined),
        30_000,
        100,
      );
      const backAt = await waitFor(
        "both edges admit through the new master",
        async () =>
          (await redisOf(a)) === "up" && (await redisOf(b)) === "up" && (await statusOn(b, "bob")) === 200 ? Date.now() : undefined,
        20_000,
        100,
      );
      console.log(JSON.stringify({ killToPromotionMs: promotedAt - killedAt, promotionToBackMs: backAt - promotedAt }));
      expect(backAt - promotedAt, `back ${backAt - promotedAt} ms after the promotion`).to.be.below(10_000);

      // After: alice still holds her one slot (A re-registered her session on the new master); dave stays out.
      expect(await statusOn(b, "alice"), "alice at her limit stays refused").to.equal(403);
      for (const edge of [a, b]) expect(await statusOn(edge, "dave"), `dave on edge ${edge.name}`).to.equal(403);
      expect(await redisCliRevoked(set)).to.equal(true);
      for (const edge of [a, b]) expect(edge.child.proc.exitCode, `edge ${edge.name} still running`).to.equal(null);
    } finally {
      alice.stop();
    }
  });
});

/** The revocation is in the new master itself, not only in the edges' memory. */
async function redisCliRevoked(set: SentinelSet): Promise<boolean> {
  return (await redisCli(set.replicaPort, "HGET", "{va}:revoked", "user:dave")) !== "";
}
