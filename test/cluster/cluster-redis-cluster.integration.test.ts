import { expect } from "chai";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { waitFor } from "../helpers/wait-for.js";
import { startEdge, type Edge, waitForEdgeReady } from "../helpers/cluster-edges.js";
import { clusterPortOf, redisCli, startRedisCluster, type RedisClusterSet } from "../helpers/redis-topologies.js";

/** alice may hold one session at a time across all edges; the others have no limit. */
const USERS = [
  { login: "alice", tokens: ["alice-token-0001"], maxConnections: 1, packages: ["*"] },
  ...["bob", "dave", "probe"].map((login) => ({ login, tokens: [`${login}-token-0001`], packages: ["*"] })),
];

function edgeConfig(nodeId: string, set: RedisClusterSet) {
  // Each edge is given a different first node: the slot map, not the list, decides where keys go.
  const nodes = nodeId.endsWith("a") ? set.urls : [...set.urls].reverse();
  return {
    auth: { users: USERS },
    cluster: { redisCluster: { nodes }, nodeId, onRedisDown: "deny", heartbeatMs: 300, timeoutMs: 500 },
  };
}

/** A viewer that plays until the server cuts it (or the test stops it). */
function flvViewer(url: string) {
  const abort = new AbortController();
  const done = httpGetFor(url, 60_000, { abortSignal: abort.signal });
  return { done, stop: () => abort.abort() };
}

(hasFfmpeg ? describe : describe.skip)("two edges on a Redis Cluster (3 masters)", function () {
  this.timeout(240_000);
  let set: RedisClusterSet;
  let a: Edge;
  let b: Edge;

  before(async () => {
    set = await startRedisCluster();
    [a, b] = await Promise.all([startEdge("ca", edgeConfig("edge-ca", set)), startEdge("cb", edgeConfig("edge-cb", set))]);
    for (const edge of [a, b]) {
      await waitForEdgeReady(edge);
    }
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await set?.stop();
  });

  const playingOf = async (edge: Edge, user: string) =>
    ((await edge.api("GET", `/api/sessions?user=${user}`)).json.sessions as { id: string; node: string; state: string }[]).filter(
      (s) => s.state === "playing",
    );
  const statusOn = async (edge: Edge, user: string) =>
    (await httpGetFor(`${edge.httpBase}/live/test.flv?token=${user}-token-0001`, 700)).status;

  it("the deployment's keys sit on one shard, and the scripts run there", async () => {
    const home = await clusterPortOf(set, "{va}:nodes");
    expect(await redisCli(home, "ZCARD", "{va}:nodes")).to.equal("2");
    expect(
      await redisCli(
        set.ports.find((p) => p !== home)!,
        "DBSIZE",
      ),
    ).to.equal("0");
  });

  it("a user limited to 1 plays on A and is refused on B until A's viewer ends", async () => {
    const onA = flvViewer(`${a.httpBase}/live/test.flv?token=alice-token-0001`);
    await waitFor("alice playing on A, seen from B", async () => ((await playingOf(b, "alice")).length === 1 ? true : undefined));
    expect(await statusOn(b, "alice")).to.equal(403);
    onA.stop();
    await onA.done.catch(() => undefined);
    await waitFor("alice's slot free", async () => ((await statusOn(b, "alice")) === 200 ? true : undefined), 10_000);
  });

  it("a token revoked on B cuts its viewer on A and stays refused on both until lifted", async () => {
    const dave = flvViewer(`${a.httpBase}/live/test.flv?token=dave-token-0001`);
    await waitFor("dave playing on A, seen from B", async () => ((await playingOf(b, "dave")).length === 1 ? true : undefined));
    const revoked = await b.api("POST", "/api/sessions/revoke", { token: "dave-token-0001" });
    expect(revoked.json.closed).to.have.length(1);
    const ended = await Promise.race([dave.done, new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000))]);
    expect(ended, "dave's viewer on A cut").to.not.equal(undefined);
    await waitFor(
      "A logs dave's session as revoked",
      () => (a.ended().some((s) => s.name === "dave" && s.reason === "revoked") ? true : undefined),
      5000,
    );
    for (const edge of [a, b]) expect(await statusOn(edge, "dave"), `edge ${edge.name}`).to.equal(403);
    expect((await a.api("DELETE", "/api/revocations/token/dave-token-0001")).status).to.equal(200);
    await waitFor("the lift reaches B", async () => ((await statusOn(b, "dave")) === 200 ? true : undefined), 5000);
  });

  it("a session on A closed through B's API", async () => {
    const bob = flvViewer(`${a.httpBase}/live/test.flv?token=bob-token-0001`);
    try {
      const [session] = await waitFor("bob playing on A, seen from B", async () => {
        const playing = await playingOf(b, "bob");
        return playing.length === 1 ? playing : undefined;
      });
      expect(session!.node).to.equal("edge-ca");
      expect((await b.api("DELETE", `/api/sessions/${session!.id}`)).json).to.deep.equal({ closed: [session!.id] });
      await waitFor(
        "bob's close logged on A",
        () => (a.ended().some((s) => s.id === session!.id && s.reason === "closed-by-api") ? true : undefined),
        5000,
      );
    } finally {
      bob.stop();
    }
  });
});
