import { expect } from "chai";
import { hasFfmpeg, playWithFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor, wsReadFor } from "../helpers/flv-clients.js";
import { waitFor } from "../helpers/wait-for.js";
import { startEdge, type Edge, waitForEdgeReady } from "../helpers/cluster-edges.js";
import { startRedis, type RedisServer } from "../helpers/redis-server.js";
import { startTcpRelay, type TcpRelay } from "../helpers/tcp-relay.js";
import { sleep } from "../helpers/sleep.js";

/** Users of every edge: alice may hold one session at a time across all edges; the others have no limit. */
const USERS = [
  { login: "alice", tokens: ["alice-token-0001"], maxConnections: 1, packages: ["*"] },
  ...["bob", "carol", "dave", "erin", "frank", "probe"].map((login) => ({ login, tokens: [`${login}-token-0001`], packages: ["*"] })),
];
const HEARTBEAT_MS = 300;

function edgeConfig(nodeId: string, redisUrl: string, onRedisDown: "local" | "deny") {
  return {
    auth: { users: USERS },
    cluster: { redis: redisUrl, nodeId, onRedisDown, heartbeatMs: HEARTBEAT_MS, timeoutMs: 300 },
  };
}

/** A viewer that plays until the server cuts it (or the test aborts it), and when that happened. */
function flvViewer(url: string) {
  const abort = new AbortController();
  const done = httpGetFor(url, 60_000, { abortSignal: abort.signal }).then((r) => ({ ...r, endedAt: Date.now() }));
  return { done, stop: () => abort.abort() };
}

(hasFfmpeg ? describe : describe.skip)("several edges sharing one Redis (two edge processes, real redis-server)", function () {
  this.timeout(180_000);
  let redis: RedisServer;
  let relay: TcpRelay;
  let a: Edge;
  let b: Edge;

  before(async () => {
    redis = await startRedis();
    relay = await startTcpRelay(redis.port); // edge A reaches Redis through a relay the tests can cut
    [a, b] = await Promise.all([
      startEdge("a", edgeConfig("edge-a", `redis://127.0.0.1:${relay.port}`, "local")),
      startEdge("b", edgeConfig("edge-b", redis.url, "deny")),
    ]);
    for (const edge of [a, b]) {
      // "probe" is no test's user: its sessions never show in what a test counts.
      await waitForEdgeReady(edge, { hls: true });
    }
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await relay?.close();
    await redis?.stop();
  });

  const sessionsOn = async (edge: Edge, query = "") =>
    (await edge.api("GET", `/api/sessions${query}`)).json as {
      total: number;
      sessions: { id: string; node: string; name?: string; state: string }[];
      partial?: boolean;
    };
  const playingOf = async (edge: Edge, user: string) =>
    (await sessionsOn(edge, `?user=${user}`)).sessions.filter((s) => s.state === "playing");

  it("a user limited to 1 plays on A, is refused on B, and plays on B once A's viewer ends", async () => {
    const onA = flvViewer(`${a.httpBase}/live/test.flv?token=alice-token-0001`);
    await waitFor("alice playing on A, seen from B", async () => ((await playingOf(b, "alice")).length === 1 ? true : undefined));
    const refused = await httpGetFor(`${b.httpBase}/live/test.flv?token=alice-token-0001`, 1500);
    expect(refused.status).to.equal(403);
    expect(refused.bytes).to.be.below(200); // a refusal body, no media
    onA.stop();
    await onA.done;
    await waitFor("alice's A session gone from the shared list", async () =>
      (await playingOf(b, "alice")).length === 0 ? true : undefined,
    );
    const onB = await httpGetFor(`${b.httpBase}/live/test.flv?token=alice-token-0001`, 1500);
    expect(onB.status).to.equal(200);
    expect(onB.body.subarray(0, 3).toString()).to.equal("FLV");
  });

  it("any edge lists every edge's sessions with their node, filtered and paged as before", async () => {
    const bob = flvViewer(`${a.httpBase}/live/test.flv?token=bob-token-0001`);
    const carol = flvViewer(`${b.httpBase}/live/test.flv?token=carol-token-0001`);
    try {
      await waitFor("bob and carol listed", async () =>
        (await sessionsOn(a, "?user=carol")).total === 1 && (await sessionsOn(b, "?user=bob")).total === 1 ? true : undefined,
      );
      for (const edge of [a, b]) {
        const bobs = await sessionsOn(edge, "?user=bob");
        const carols = await sessionsOn(edge, "?user=carol&protocol=http-flv");
        expect(bobs.sessions.map((s) => s.node)).to.deep.equal(["edge-a"]);
        expect(carols.sessions.map((s) => s.node)).to.deep.equal(["edge-b"]);
        const all = await sessionsOn(edge);
        const paged = await sessionsOn(edge, "?limit=1&offset=1");
        expect(paged.total).to.equal(all.total);
        expect(paged.sessions.map((s) => s.id)).to.deep.equal(all.sessions.slice(1, 2).map((s) => s.id));
      }
      // Viewers per channel count every edge's playing sessions.
      const perChannel = async (edge: Edge) =>
        ((await edge.api("GET", "/api/viewers")).json.viewers as Record<string, number>)["live/test"] ?? 0;
      const local = async (edge: Edge) =>
        (await sessionsOn(edge)).sessions.filter((s) => s.state === "playing" && s.node === `edge-${edge.name}`).length;
      expect(await perChannel(a)).to.be.at.least(2);
      expect(await perChannel(a)).to.equal(await perChannel(b));
      expect(await perChannel(a)).to.equal((await local(a)) + (await local(b)));
      // A session on A closed through B's API.
      const bobId = (await sessionsOn(b, "?user=bob")).sessions[0]!.id;
      const closed = await b.api("DELETE", `/api/sessions/${bobId}`);
      expect(closed.json).to.deep.equal({ closed: [bobId] });
      const ended = await bob.done;
      expect(ended.status).to.equal(200);
      await waitFor("bob's close logged on A", () =>
        a.ended().some((s) => s.id === bobId && s.reason === "closed-by-api") ? true : undefined,
      );
    } finally {
      bob.stop();
      carol.stop();
    }
  });

  it("a token revoked on B cuts its viewers on A on every protocol within 1 s, and stays refused on both until lifted", async () => {
    const token = "dave-token-0001";
    const flv = flvViewer(`${a.httpBase}/live/test.flv?token=${token}`);
    const wsAbort = new AbortController();
    const ws = wsReadFor(`${a.wsBase}/live/test.flv?token=${token}`, 60_000, { abortSignal: wsAbort.signal }).then((r) => ({
      ...r,
      endedAt: Date.now(),
    }));
    const rtmp = playWithFfmpeg(`${a.rtmpBase}/live/test?token=${token}`, { seconds: 60 }).then((r) => ({ ...r, endedAt: Date.now() }));
    const wrapper = await httpGetFor(`${a.httpBase}/live/test/index.m3u8?token=${token}`, 3000);
    expect(wrapper.status).to.equal(200);
    const key = /vas=([A-Za-z0-9_-]+)/.exec(wrapper.body.toString())![1]!;
    try {
      await waitFor("dave on four protocols on A, seen from B", async () => ((await playingOf(b, "dave")).length === 4 ? true : undefined));
      const revokedAt = Date.now();
      const revoked = await b.api("POST", "/api/sessions/revoke", { token });
      expect(revoked.status).to.equal(200);
      expect(revoked.json.closed).to.have.length(4); // A's four sessions, named from the shared list
      // HLS: the key is dead on A once its segment or playlist answers 403.
      const hlsDeadAt = await waitFor(
        "the HLS key dead on A",
        async () => ((await httpGetFor(`${a.httpBase}/live/test/index.m3u8?vas=${key}`, 1000)).status === 403 ? Date.now() : undefined),
        5000,
      );
      const [flvEnd, wsEnd, rtmpEnd] = await Promise.all([flv.done, ws, rtmp]);
      expect(flvEnd.bytes).to.be.above(0);
      expect(wsEnd.bytes).to.be.above(0);
      expect(rtmpEnd.stdoutBytes).to.be.above(0);
      const delays = {
        flv: flvEnd.endedAt - revokedAt,
        ws: wsEnd.endedAt - revokedAt,
        rtmp: rtmpEnd.endedAt - revokedAt,
        hls: hlsDeadAt - revokedAt,
      };
      for (const [protocol, ms] of Object.entries(delays)) expect(ms, `${protocol} cut after ${ms} ms`).to.be.below(1000);
      // A's log lines come through a pipe: they may land after the clients saw their connections end.
      await waitFor(
        "A's four sessions of dave logged as revoked",
        () => (a.ended().filter((s) => s.name === "dave" && s.reason === "revoked").length === 4 ? true : undefined),
        5000,
      );
      for (const edge of [a, b]) {
        expect((await httpGetFor(`${edge.httpBase}/live/test.flv?token=${token}`, 1000)).status, `edge ${edge.name}`).to.equal(403);
        expect((await httpGetFor(`${edge.httpBase}/live/test/index.m3u8?token=${token}`, 1000)).status, `edge ${edge.name}`).to.equal(403);
      }
      const listed = (await a.api("GET", "/api/revocations")).json.revocations as { kind: string; tokenDigest?: string }[];
      expect(listed).to.have.length(1);
      expect(JSON.stringify(listed)).to.not.include(token); // kept as a digest only
      expect((await a.api("DELETE", `/api/revocations/token/${token}`)).status).to.equal(200);
      await waitFor(
        "the lift reaches B",
        async () => ((await b.api("GET", "/api/revocations")).json.revocations.length === 0 ? true : undefined),
        5000,
      );
      const again = await httpGetFor(`${b.httpBase}/live/test.flv?token=${token}`, 1000);
      expect(again.status).to.equal(200);
    } finally {
      flv.stop();
      wsAbort.abort();
    }
  });

  it("a revocation made while A was cut off from Redis reaches A when it reconnects", async () => {
    const erin = flvViewer(`${a.httpBase}/live/test.flv?token=erin-token-0001`);
    try {
      await waitFor("erin playing on A, seen from B", async () => ((await playingOf(b, "erin")).length === 1 ? true : undefined));
      await relay.cut();
      await waitFor(
        "A notices Redis is gone",
        async () => ((await a.api("GET", "/api/cluster")).json.redis === "down" ? true : undefined),
        10_000,
      );
      const revoked = await b.api("POST", "/api/sessions/revoke", { user: "erin" });
      expect(revoked.status).to.equal(200);
      // Cut off, A cannot know yet: erin keeps playing there.
      const before = (await playingOf(a, "erin")).length;
      expect(before).to.equal(1);
      await relay.restore();
      const ended = await Promise.race([erin.done, new Promise<undefined>((r) => setTimeout(() => r(undefined), 15_000))]);
      expect(
        ended,
        `erin's viewer on A cut after the reconnect; A said: ${a.child
          .output()
          .split("\n")
          .filter((l) => l.includes("cluster."))
          .slice(-8)
          .join("\n")}`,
      ).to.not.equal(undefined);
      await waitFor("erin's session on A logged as revoked", () => (a.ended().some((s) => s.name === "erin") ? true : undefined), 5000);
      expect(
        a
          .ended()
          .filter((s) => s.name === "erin")
          .map((s) => s.reason),
      ).to.deep.equal(["revoked"]);
      expect((await httpGetFor(`${a.httpBase}/live/test.flv?token=erin-token-0001`, 1000)).status).to.equal(403);
      expect((await a.api("DELETE", "/api/revocations/user/erin")).status).to.equal(200);
    } finally {
      erin.stop();
    }
  });

  it("Redis stopped (kill -STOP): answers within the timeout as onRedisDown says, live viewers keep playing, and both recover", async () => {
    const frank = flvViewer(`${a.httpBase}/live/test.flv?token=frank-token-0001`);
    try {
      await waitFor("frank playing", async () => ((await playingOf(a, "frank")).length === 1 ? true : undefined));
      redis.pause();
      const t0 = Date.now();
      const onA = await httpGetFor(`${a.httpBase}/live/test.flv?token=bob-token-0001`, 500);
      const onB = await httpGetFor(`${b.httpBase}/live/test.flv?token=bob-token-0001`, 500);
      const elapsed = Date.now() - t0;
      expect(onA.status, "edge A (onRedisDown: local) admits on its own counts").to.equal(200);
      expect(onB.status, "edge B (onRedisDown: deny) refuses").to.equal(403);
      expect(elapsed, "both answered within the 300 ms timeout each (plus the 500 ms read of A's media)").to.be.below(2500);
      await waitFor(
        "A reports Redis down in /metrics",
        async () => (/va_cluster_redis_up 0/.test((await a.api("GET", "/metrics")).text) ? true : undefined),
        5000,
      );
      const stats = await a.api("GET", "/api/cluster/stats");
      expect(stats.status, "the edges' statistics live in Redis").to.equal(503);
      expect(stats.json.code).to.equal("VA_API_UNAVAILABLE");
      const bytesBefore = await bytesOfLive(a, "frank");
      await sleep(1500);
      expect(await bytesOfLive(a, "frank"), "frank's media still flows").to.be.above(bytesBefore);
      redis.resume();
      await waitFor(
        "both edges back",
        async () =>
          (await a.api("GET", "/api/cluster")).json.redis === "up" && (await b.api("GET", "/api/cluster")).json.redis === "up"
            ? true
            : undefined,
        15_000,
      );
      expect((await httpGetFor(`${b.httpBase}/live/test.flv?token=bob-token-0001`, 500)).status).to.equal(200);

      // A restart loses everything Redis held: each edge registers its live sessions again.
      await redis.restart();
      await waitFor(
        "frank registered again after the restart",
        async () => ((await playingOf(b, "frank")).length === 1 ? true : undefined),
        15_000,
      );
      expect((await httpGetFor(`${b.httpBase}/live/test.flv?token=bob-token-0001`, 500)).status).to.equal(200);
    } finally {
      redis.resume();
      frank.stop();
    }
  });

  it("statistics stay in each edge's ledger; any edge answers them per edge and merged", async () => {
    type Row = { key: string; sessions: number };
    const stats = await waitFor(
      "both edges' totals published",
      async () => {
        const reply = await b.api("GET", "/api/cluster/stats");
        const nodes = reply.json?.nodes as Record<string, { channels: Row[] }> | undefined;
        return nodes?.["edge-a"] !== undefined && nodes["edge-b"] !== undefined ? reply.json : undefined;
      },
      15_000,
    );
    const sessionsOf = (rows: Row[]) => rows.find((r) => r.key === "live/test")?.sessions ?? 0;
    const [onA, onB] = [sessionsOf(stats.nodes["edge-a"].channels), sessionsOf(stats.nodes["edge-b"].channels)];
    expect(onA).to.be.above(0);
    expect(onB).to.be.above(0);
    expect(sessionsOf(stats.merged.channels)).to.equal(onA + onB);
    const one = await a.api("GET", "/api/cluster/stats?node=edge-b");
    expect(one.json.node).to.equal("edge-b");
    expect((await a.api("GET", "/api/cluster/stats?node=nowhere")).status).to.equal(404);
  });

  it("an edge killed with -9 drops out of the shared list within its lease (3 heartbeats)", async () => {
    const c = await startEdge("c", edgeConfig("edge-c", redis.url, "local"));
    try {
      await waitFor(
        "edge c on air",
        async () => ((await httpGetFor(`${c.httpBase}/live/test.flv?token=probe-token-0001`, 300)).bytes > 0 ? true : undefined),
        60_000,
      );
      const viewer = flvViewer(`${c.httpBase}/live/test.flv?token=carol-token-0001`);
      await waitFor("carol on C, seen from B", async () =>
        (await sessionsOn(b, "?user=carol")).sessions.some((s) => s.node === "edge-c") ? true : undefined,
      );
      const lease = (await b.api("GET", "/api/cluster")).json.leaseMs as number;
      expect(lease).to.equal(3 * HEARTBEAT_MS);
      const killedAt = Date.now();
      await c.crash();
      const goneAt = await waitFor(
        "C's sessions gone",
        async () => ((await sessionsOn(b, "?user=carol")).sessions.some((s) => s.node === "edge-c") ? undefined : Date.now()),
        10_000,
      );
      // The bound: the lease (3 heartbeats) after C's last heartbeat, which came at most one heartbeat before the kill.
      expect(goneAt - killedAt).to.be.at.most(lease + 1000);
      viewer.stop();
    } finally {
      await c.stop();
    }
  });
});

async function bytesOfLive(edge: Edge, user: string): Promise<number> {
  const json = (await edge.api("GET", `/api/sessions?user=${user}`)).json as { sessions: { bytesOut: number; node: string }[] };
  return json.sessions.filter((s) => s.node === `edge-${edge.name}`).reduce((n, s) => n + s.bytesOut, 0);
}
