import { expect } from "chai";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { startNms, startPublishingNms, type NmsInstance } from "../helpers/nms-instance.js";
import { startRedis, type RedisServer } from "../helpers/redis-server.js";
import { waitFor } from "../helpers/wait-for.js";
import { TEST_API_TOKEN } from "../helpers/api-tokens.js";
import { apiFetch } from "../helpers/openapi-check.js";
import { makeSecureLink } from "../../plugin/src/securetoken/make-secure-link.js";

const SECRET = "overview-test-secret";
const VIEWERS = 3;

/** `name{labels} value` lines of a Prometheus page, as [labels text, value]. */
function samples(page: string, name: string): [string, number][] {
  return page
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .map((line) => {
      const match = /^[^{ ]+(\{[^}]*\})? (\S+)$/.exec(line)!;
      return [match[1] ?? "", Number(match[2])];
    });
}

describe("GET /api/overview and /api/history against /api/sessions and /metrics (real NMS 4.4.3, HTTP-FLV viewers)", function () {
  this.timeout(90_000);
  let nms: NmsInstance;
  const aborts: AbortController[] = [];
  const get = async (path: string) => {
    const res = await apiFetch(`http://127.0.0.1:${nms.auth.api!.port}${path}`, { headers: { authorization: `Bearer ${TEST_API_TOKEN}` } });
    return { status: res.status, body: res.headers.get("content-type")?.includes("json") ? ((await res.json()) as any) : await res.text() };
  };

  before(async function () {
    if (!hasFfmpeg) this.skip();
    nms = await startPublishingNms(
      {
        auth: { defaultAction: "deny", securetoken: { format: "astra", secrets: [SECRET] } },
        api: { enabled: true, port: 0, token: TEST_API_TOKEN },
      },
      "live/ov",
    );
    await nms.auth.ready;
  });
  after(async () => {
    for (const a of aborts) a.abort();
    await nms?.stop();
  });

  it("viewers, decisions and bytes agree with the sessions list and the metrics; history counts the viewers", async () => {
    const url = `http://127.0.0.1:${nms.httpPort}/live/ov.flv`;
    const empty = await get("/api/overview");
    expect(empty.status).to.equal(200);
    expect(empty.body.viewers).to.deep.equal({ total: 0, perProtocol: {}, perChannel: {} });
    expect(empty.body).to.include({ backend: null, channels: null, cluster: null });

    for (let i = 0; i < VIEWERS; i++) {
      const abort = new AbortController();
      aborts.push(abort);
      void httpGetFor(makeSecureLink({ url, ip: "127.0.0.1", lifetimeSec: 600, secret: SECRET }), 60_000, { abortSignal: abort.signal });
    }
    for (let i = 0; i < 2; i++) expect((await httpGetFor(`${url}?token=not-signed`, 1000)).status).to.equal(403);
    await waitFor("three viewers playing", () => (nms.auth.sessions.count({ state: "playing" }) === VIEWERS ? true : undefined));
    // Bytes are summed every 5 s: wait for a rate over at least one interval.
    const overview = await waitFor(
      "a bandwidth measured",
      async () => {
        const o = (await get("/api/overview")).body;
        return o.bandwidth.bytesPerSec > 0 && o.bandwidth.windowSec >= 5 ? o : undefined;
      },
      30_000,
      500,
    );
    const sessions = (await get("/api/sessions?state=playing")).body;
    const metrics = (await get("/metrics")).body as string;

    expect(overview.viewers.total).to.equal(VIEWERS).and.equal(sessions.total);
    expect(overview.viewers.perProtocol).to.deep.equal({ "http-flv": VIEWERS });
    expect(overview.viewers.perChannel).to.deep.equal({ "live/ov": { "http-flv": VIEWERS } });
    expect(samples(metrics, "va_live_sessions")).to.deep.equal([['{protocol="http-flv",channel="live/ov"}', VIEWERS]]);

    const decided = (verdict: string) =>
      Object.fromEntries(
        samples(metrics, "va_decisions_total")
          .filter(([labels]) => labels.includes(`verdict="${verdict}"`))
          .map(([labels, n]) => [/step="([^"]+)"/.exec(labels)![1], n]),
      );
    const allowed = Object.values(decided("allow") as Record<string, number>).reduce((a, n) => a + n, 0);
    expect(overview.decisions.admitted).to.equal(allowed).and.equal(VIEWERS);
    expect(overview.decisions.refused).to.deep.equal(decided("deny"));
    expect(Object.values(overview.decisions.refused as Record<string, number>).reduce((a, n) => a + n, 0)).to.equal(2);
    const perMinute = overview.decisions.perMinute as { admitted: number }[];
    expect(perMinute.reduce((a, m) => a + m.admitted, 0)).to.equal(VIEWERS);

    // The counter keeps growing after the overview's last sum: the overview's total is at most the metric's.
    const sentBytes = samples(metrics, "va_sent_bytes_total")[0]![1];
    expect(overview.bandwidth.sentBytes).to.be.above(0).and.at.most(sentBytes);
    const bytesNow = sessions.sessions.reduce((a: number, s: { bytesOut: number }) => a + s.bytesOut, 0);
    expect(overview.bandwidth.sentBytes).to.be.at.most(bytesNow);

    // History: counted every 10 s; the open minute holds the most viewers at once.
    const history = await waitFor(
      "the viewers in the day's history",
      async () => {
        const h = (await get("/api/history?channel=live/ov&range=24h")).body;
        return h.points.at(-1).viewers === VIEWERS ? h : undefined;
      },
      30_000,
      500,
    );
    expect(history).to.include({ channel: "live/ov", range: "24h", resolutionSec: 60 });
    expect(history.points).to.have.length(1440);
    const week = (await get("/api/history?channel=live/ov&range=7d")).body;
    expect(week.points).to.have.length(1008);
    expect(week.points.at(-1).viewers).to.equal(VIEWERS);
    expect((await get("/api/history?range=24h")).body.points.at(-1).viewers).to.equal(VIEWERS);
    expect((await get("/api/history?channel=live/other")).body.points.at(-1).viewers).to.equal(0);
    const bad = await get("/api/history?range=1y");
    expect([bad.status, bad.body.code]).to.deep.equal([400, "VA_API_BAD_REQUEST"]);
  });
});

describe("GET /api/overview with a cluster (real redis-server)", function () {
  this.timeout(60_000);
  let redis: RedisServer;
  let nms: NmsInstance;
  const overview = async () => {
    const res = await apiFetch(`http://127.0.0.1:${nms.auth.api!.port}/api/overview`, {
      headers: { authorization: `Bearer ${TEST_API_TOKEN}` },
    });
    return ((await res.json()) as { cluster: unknown }).cluster;
  };

  before(async () => {
    redis = await startRedis();
    nms = await startNms({
      api: { enabled: true, port: 0, token: TEST_API_TOKEN },
      cluster: { redis: redis.url, nodeId: "edge-one", heartbeatMs: 300, timeoutMs: 300 },
    });
    await nms.auth.ready;
  });
  after(async () => {
    redis?.resume();
    await nms?.stop();
    await redis?.stop();
  });

  it("lists every live edge and Redis's state; while Redis is away, says so without the edges", async () => {
    expect(await overview()).to.deep.equal({
      node: "edge-one",
      redis: "up",
      onRedisDown: "local",
      edges: [{ node: "edge-one", sessions: 0 }],
    });
    redis.pause();
    const down = await waitFor("Redis seen down", async () => {
      const cluster = (await overview()) as { redis: string };
      return cluster.redis === "down" ? cluster : undefined;
    });
    expect(down).to.deep.equal({ node: "edge-one", redis: "down", onRedisDown: "local", edges: null });
    redis.resume();
    await waitFor("Redis seen up again", async () => (((await overview()) as { redis: string }).redis === "up" ? true : undefined));
  });
});
