import { expect } from "chai";
import { systemClock } from "../../plugin/src/core/clock.js";
import { createLogger } from "../../plugin/src/core/log.js";
import { clusterSchema } from "../../plugin/src/cluster/cluster-schema.js";
import { EdgeCluster } from "../../plugin/src/cluster/edge-cluster.js";
import { MemorySessionStore } from "../../plugin/src/sessions/memory-session-store.js";
import { RevocationList } from "../../plugin/src/sessions/revocation-list.js";
import { SessionLimiter } from "../../plugin/src/sessions/session-limiter.js";
import type { ViewerSession } from "../../plugin/src/core/viewer-session.js";
import { redisRaw, startRedis, type RedisServer } from "../helpers/redis-server.js";
import { startTcpRelay, type TcpRelay } from "../helpers/tcp-relay.js";
import { waitUntil } from "../helpers/wait-for.js";
import { sleep } from "../helpers/sleep.js";

/**
 * An edge re-registers its sessions (RESYNC: what Redis holds for it replaced by its playing sessions)
 * after an outage or a lapsed lease, while new viewers keep arriving. A viewer whose admission script ran
 * in Redis before the re-registration but whose answer came back after the edge took its list (or one
 * admitted on local counts after the list was taken) must still end up in Redis: listed on every edge,
 * counted in its limits. Found by the twenty-edge bench: on a loaded machine a burst of 10,000 admissions
 * left about 1 % of the sessions missing from Redis for good.
 */
describe("cluster: sessions admitted while the edge re-registers", function () {
  this.timeout(30_000);
  let redis: RedisServer;
  let relay: TcpRelay;
  let cluster: EdgeCluster;
  let store: MemorySessionStore;
  let limiter: SessionLimiter;

  before(async () => {
    redis = await startRedis();
    // Every answer from Redis takes 150 ms: an admission sent while the edge waits for the list of its
    // counters (the re-registration's first step) runs in Redis before the re-registration itself.
    relay = await startTcpRelay(redis.port, { replyDelayMs: 150 });
    const log = createLogger("silent");
    store = new MemorySessionStore(systemClock, log);
    const config = clusterSchema.parse({
      redis: `redis://127.0.0.1:${relay.port}`,
      nodeId: "edge-r",
      onRedisDown: "local",
      heartbeatMs: 500,
      timeoutMs: 3000,
    })!;
    cluster = new EdgeCluster(config, {
      registry: store,
      clock: systemClock,
      log,
      commandTargets: { registry: store, revocations: new RevocationList(systemClock), forgetVerdicts: () => {} },
    });
    limiter = new SessionLimiter(store, "reject-new", { maxPerIp: 0, maxPerChannel: 0 }, cluster);
    await cluster.start();
  });
  after(async () => {
    await cluster?.close();
    await relay?.close();
    await redis?.stop();
  });

  const admitOne = async (i: number): Promise<boolean> => {
    const session: ViewerSession = store.open({
      protocol: "http-flv",
      app: "live",
      channel: "resync",
      ip: "10.9.0.1",
      userAgent: "test",
      transport: { bytesOut: () => 0, close: () => {} },
    });
    return (await limiter.admit(session, { identity: { userId: `viewer-${i}`, maxSessions: 5 }, request: undefined })).admitted;
  };
  /** An integer reply (`:n`) or a bulk string holding one (`$len`, then n); NaN for none. */
  const reply = async (...args: string[]) => Number(/^(?::|\$\d+\r\n)(-?\d+)\r\n/.exec(await redisRaw(redis.port, ...args))?.[1]);

  it("every admitted session is in Redis and counted once the edge settles", async () => {
    // The edge's lease gone from Redis: its next heartbeat re-registers it, while viewers arrive every 20 ms.
    expect(await reply("ZREM", "{va}:nodes", "edge-r")).to.equal(1);
    const admissions: Promise<boolean>[] = [];
    const until = Date.now() + 1500;
    for (let i = 0; Date.now() < until; i++) {
      admissions.push(admitOne(i));
      await sleep(20);
    }
    const admitted = (await Promise.all(admissions)).filter(Boolean).length;
    expect(admitted).to.equal(admissions.length);
    expect(store.count()).to.equal(admitted);
    let inRedis = 0;
    await waitUntil(
      () => `${admitted} sessions in Redis (has ${inRedis})`,
      async () => (inRedis = await reply("HLEN", "{va}:sessions:edge-r")) === admitted,
      10_000,
    );
    const counted = await Promise.all(admissions.map((_, i) => reply("HGET", `{va}:count:user:viewer-${i}`, "edge-r")));
    expect(
      counted.filter((n) => n !== 1),
      "each user's limit counts its one session",
    ).to.deep.equal([]);
  });
});
