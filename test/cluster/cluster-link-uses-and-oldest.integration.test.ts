import { expect } from "chai";
import { makeSecureLink } from "../../plugin/src/index.js";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { waitFor } from "../helpers/wait-for.js";
import { startEdge, type Edge } from "../helpers/cluster-edges.js";
import { startRedis, type RedisServer } from "../helpers/redis-server.js";

const SECRET = "edge-link-secret";
const USERS = [
  { login: "olga", tokens: ["olga-token-0001"], maxConnections: 1, packages: ["*"] },
  { login: "probe", tokens: ["probe-token-0001"], packages: ["*"] },
];

function edgeConfig(nodeId: string, redisUrl: string) {
  return {
    auth: { users: USERS, securetoken: { secrets: [SECRET], maxUses: 1 } },
    sessions: { limitPolicy: "close-oldest" },
    cluster: { redis: redisUrl, nodeId, onRedisDown: "deny", heartbeatMs: 300, timeoutMs: 1000 },
  };
}

(hasFfmpeg ? describe : describe.skip)("one-time links and close-oldest across two edges (real redis-server)", function () {
  this.timeout(180_000);
  let redis: RedisServer;
  let a: Edge;
  let b: Edge;

  before(async () => {
    redis = await startRedis();
    [a, b] = await Promise.all([startEdge("ua", edgeConfig("edge-ua", redis.url)), startEdge("ub", edgeConfig("edge-ub", redis.url))]);
    for (const edge of [a, b]) {
      await waitFor(
        `edge ${edge.name} on air`,
        async () => ((await httpGetFor(`${edge.httpBase}/live/test.flv?token=probe-token-0001`, 300)).bytes > 0 ? true : undefined),
        60_000,
        300,
      );
    }
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
  });

  it("20 plays of one maxUses: 1 link racing over two edges: exactly one gets media", async () => {
    const link = makeSecureLink({ url: `${a.httpBase}/live/test.flv`, ip: "127.0.0.1", lifetimeSec: 600, secret: SECRET });
    const query = new URL(link).search;
    const plays = Array.from({ length: 20 }, (_, i) => httpGetFor(`${(i % 2 === 0 ? a : b).httpBase}/live/test.flv${query}`, 1500));
    const results = await Promise.all(plays);
    const played = results.filter((r) => r.status === 200 && r.bytes > 0);
    expect(played, "plays that got media").to.have.length(1);
    expect(results.filter((r) => r.status === 403)).to.have.length(19);
    // Both edges refused some: the count was shared, not per edge.
    const refusedOn = [a, b].map(
      (e) =>
        e.child
          .output()
          .split("\n")
          .filter((l) => l.includes('"gate.link_used_up"')).length,
    );
    expect(refusedOn[0]! + refusedOn[1]!).to.equal(19);
    expect(refusedOn.every((n) => n > 0)).to.equal(true);
  });

  it("close-oldest: a user at their limit opening a session on edge B closes their oldest on edge A within 1 s", async () => {
    const abort = new AbortController();
    const first = httpGetFor(`${a.httpBase}/live/test.flv?token=olga-token-0001`, 60_000, { abortSignal: abort.signal }).then((r) => ({
      ...r,
      endedAt: Date.now(),
    }));
    await waitFor(
      "olga plays on edge A",
      async () => ((await a.api("GET", "/api/sessions?user=olga")).json?.sessions?.length === 1 ? true : undefined),
      10_000,
      100,
    );
    const secondStarted = Date.now();
    const second = httpGetFor(`${b.httpBase}/live/test.flv?token=olga-token-0001`, 1500);
    const cut = await first;
    const secondResult = await second;
    expect(secondResult.status, "the newcomer on edge B plays").to.equal(200);
    expect(secondResult.bytes).to.be.greaterThan(1000);
    expect(cut.bytes, "the first viewer played").to.be.greaterThan(1000);
    expect(cut.endedAt - secondStarted, "the oldest session on edge A cut within 1 s (+ slack)").to.be.lessThan(3000);
    await waitFor("edge A logs the end", () => a.ended().find((s) => s.name === "olga" && s.reason === "limit"), 5000);
    abort.abort();
  });
});
