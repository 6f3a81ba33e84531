import { expect } from "chai";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { freePort } from "../helpers/free-port.js";
import { waitFor } from "../helpers/wait-for.js";
import { startEdge, type Edge, waitForEdgeReady } from "../helpers/cluster-edges.js";
import { startRedis, type RedisServer } from "../helpers/redis-server.js";
import { edgeTestConfig, nginxTestConf, originTestConfig, samplePullToken } from "../helpers/many-core-samples.js";
import { stopNginx } from "../../bench/nginx-edge.js";

const NGINX = "/usr/sbin/nginx";
const HEARTBEAT_MS = 300;
/** Viewers of the edges: alice may hold one session at a time across both edges; the others have no limit. */
const USERS = [
  { login: "alice", tokens: ["alice-token-0001"], maxConnections: 1, packages: ["*"] },
  ...["bob", "dave", "viewer", "probe"].map((login) => ({ login, tokens: [`${login}-token-0001`], packages: ["*"] })),
];

interface ListedSession {
  id: string;
  node: string;
  name?: string;
  ip: string;
  state: string;
  protocol: string;
}

/** A viewer that plays HTTP-FLV until the server cuts it (or the test stops it). */
function flvViewer(url: string, localAddress: string) {
  const abort = new AbortController();
  const done = httpGetFor(url, 60_000, { abortSignal: abort.signal, localAddress });
  return { done, stop: () => abort.abort() };
}

/** The first URI line of a playlist (not a tag). */
function firstUri(playlist: string): string {
  const line = playlist.split("\n").find((l) => l.trim() !== "" && !l.startsWith("#"));
  if (line === undefined) throw new Error(`no URI in playlist:\n${playlist}`);
  return line.trim();
}

(hasFfmpeg && existsSync(NGINX) ? describe : describe.skip)(
  "many cores, one host: an origin, two edges pulling from it (copy) sharing one Redis, nginx in front (samples/many-core)",
  function () {
    this.timeout(240_000);
    let redis: RedisServer | undefined;
    let origin: Edge | undefined;
    let edges: Edge[] = [];
    let nginx: ChildProcess | undefined;
    let prefix: string | undefined;
    let listener = "";
    /** Client address → the edge (node id) nginx sends it to, learned in the spread test. */
    const nodeOf = new Map<string, string>();

    before(async () => {
      redis = await startRedis();
      origin = await startEdge("origin", originTestConfig());
      const pullUrl = `${origin.httpBase}/live/test.flv?token=${samplePullToken()}`;
      await waitFor("the origin on air", async () => ((await httpGetFor(pullUrl, 300)).bytes > 0 ? true : undefined), 90_000);
      const originRtmpPort = Number(new URL(origin.rtmpBase).port);
      edges = await Promise.all(
        ["edge-1", "edge-2"].map((nodeId) =>
          startEdge(nodeId, edgeTestConfig({ nodeId, redisUrl: redis!.url, originRtmpPort, users: USERS, heartbeatMs: HEARTBEAT_MS })),
        ),
      );
      for (const edge of edges) await waitForEdgeReady(edge, { hls: true });
      prefix = mkdtempSync(join(tmpdir(), "va-many-core-"));
      mkdirSync(join(prefix, "logs"));
      const port = await freePort();
      const edgeHttpPorts = edges.map((e) => Number(new URL(e.httpBase).port));
      writeFileSync(join(prefix, "nginx.conf"), nginxTestConf({ prefix, port, edgeHttpPorts }));
      nginx = spawn(NGINX, ["-p", prefix, "-c", join(prefix, "nginx.conf")], { stdio: ["ignore", "ignore", "pipe"] });
      nginx.stderr!.resume();
      listener = `http://127.0.0.1:${port}`;
      await waitFor("nginx to pass a request to an edge", async () => {
        const probe = await httpGetFor(`${listener}/live/test/index.m3u8?token=probe-token-0001`, 1000);
        return probe.status === 200 ? true : undefined;
      });
    });

    after(async () => {
      await stopNginx(nginx);
      await Promise.all(edges.map((e) => e.stop()));
      await origin?.stop();
      await redis?.stop();
      if (prefix !== undefined) rmSync(prefix, { recursive: true, force: true });
    });

    const sessionsOf = async (user: string): Promise<ListedSession[]> =>
      ((await edges[0]!.api("GET", `/api/sessions?user=${user}`)).json as { sessions: ListedSession[] }).sessions;
    const playingOf = async (user: string) => (await sessionsOf(user)).filter((s) => s.state === "playing");

    /** Opens an HLS session through nginx from `address` and fetches a segment; returns the segment. */
    async function playHls(address: string, token: string): Promise<{ master: string; media: string; segment: Buffer }> {
      const master = await httpGetFor(`${listener}/live/test/index.m3u8?token=${token}`, 5000, { localAddress: address });
      expect(master.status, `master playlist from ${address}: ${master.body.toString()}`).to.equal(200);
      const mediaUri = firstUri(master.body.toString());
      const media = await httpGetFor(`${listener}/live/test/${mediaUri}`, 5000, { localAddress: address });
      expect(media.status, "media playlist").to.equal(200);
      const segment = await httpGetFor(`${listener}/live/test/${firstUri(media.body.toString())}`, 5000, { localAddress: address });
      expect(segment.status, "segment").to.equal(200);
      return { master: master.body.toString(), media: media.body.toString(), segment: segment.body };
    }

    it("the origin plays only to the edges' pull token", async () => {
      expect((await httpGetFor(`${origin!.httpBase}/live/test.flv`, 500)).status).to.equal(403);
      expect((await httpGetFor(`${origin!.httpBase}/live/test.flv?token=bob-token-0001`, 500)).status).to.equal(403);
      const pulled = await httpGetFor(`${origin!.httpBase}/live/test.flv?token=${samplePullToken()}`, 500);
      expect(pulled.status).to.equal(200);
    });

    it("HLS plays through nginx's one port (master, media playlist, a segment ffprobe decodes); no credential gets 403 and no media", async () => {
      const { master, media, segment } = await playHls("127.0.0.2", "bob-token-0001");
      expect(master).to.match(/^#EXTM3U/);
      expect(master).to.match(/index\.m3u8\?vas=/);
      expect(media).to.include("#EXTINF");
      expect(segment[0], "an MPEG-TS sync byte").to.equal(0x47);
      expect(segment.length % 188).to.equal(0);
      const probe = spawnSync("ffprobe", ["-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", "-i", "pipe:0"], {
        input: segment,
        encoding: "utf8",
      });
      expect([...new Set(probe.stdout.split("\n").filter(Boolean))].sort(), probe.stderr).to.deep.equal(["aac", "h264"]);

      const segmentName = firstUri(media).replace(/\?.*$/, "");
      for (const path of ["/live/test/index.m3u8", "/live/test/index.m3u8?token=nobody", `/live/test/${segmentName}`, "/live/test.flv"]) {
        const refused = await httpGetFor(`${listener}${path}`, 1000, { localAddress: "127.0.0.2" });
        expect(refused.status, path).to.equal(403);
        expect(refused.body.toString(), path).to.not.match(/#EXTM3U|FLV/);
        expect(refused.body.length, path).to.be.below(300);
      }
    });

    it("viewers from different addresses are spread over both edges, which see their real addresses through X-Forwarded-For", async () => {
      const perNode = () => [...nodeOf.values()].reduce((m, n) => m.set(n, (m.get(n) ?? 0) + 1), new Map<string, number>());
      for (let i = 3; i < 60 && !(perNode().size === 2 && Math.min(...perNode().values()) >= 2); i++) {
        const address = `127.0.0.${i}`;
        await playHls(address, "viewer-token-0001");
        const listed = await waitFor(`the session of ${address} listed`, async () =>
          (await sessionsOf("viewer")).find((s) => s.ip === address),
        );
        nodeOf.set(address, listed.node);
      }
      expect([...perNode().keys()].sort()).to.deep.equal(["edge-1", "edge-2"]);
      // Each edge lists every edge's sessions, with the viewers' own addresses: none is nginx's.
      for (const edge of edges) {
        const all = ((await edge.api("GET", "/api/sessions?user=viewer")).json as { sessions: ListedSession[] }).sessions;
        expect(new Set(all.map((s) => s.node))).to.deep.equal(new Set(["edge-1", "edge-2"]));
        expect(all.map((s) => s.ip)).to.not.include("127.0.0.1");
      }
      const cluster = (await edges[1]!.api("GET", "/api/cluster")).json as { sessionsPerNode: Record<string, number> };
      for (const node of ["edge-1", "edge-2"]) expect(cluster.sessionsPerNode[node] ?? 0, node).to.be.at.least(1);
    });

    /** Two client addresses nginx sends to different edges (from the spread test). */
    function addressesOnBothEdges(): { one: string; two: string } {
      const one = [...nodeOf].find(([, node]) => node === "edge-1")?.[0];
      const two = [...nodeOf].find(([, node]) => node === "edge-2")?.[0];
      if (one === undefined || two === undefined) throw new Error("the spread test found no address per edge");
      return { one, two };
    }

    it("a user limited to one session plays on one edge and is refused through the other", async () => {
      const { one, two } = addressesOnBothEdges();
      const first = flvViewer(`${listener}/live/test.flv?token=alice-token-0001`, one);
      try {
        await waitFor("alice playing on edge-1", async () => ((await playingOf("alice")).length === 1 ? true : undefined));
        expect((await playingOf("alice")).map((s) => [s.node, s.ip])).to.deep.equal([["edge-1", one]]);
        const refused = await httpGetFor(`${listener}/live/test.flv?token=alice-token-0001`, 1500, { localAddress: two });
        expect(refused.status).to.equal(403);
        expect(refused.bytes).to.be.below(300);
        expect((await playingOf("alice")).map((s) => s.node)).to.deep.equal(["edge-1"]);
      } finally {
        first.stop();
        await first.done;
      }
    });

    it("a revocation made on one edge's API ends the viewer on the other edge, and nginx then refuses it", async () => {
      const { two } = addressesOnBothEdges();
      const viewer = flvViewer(`${listener}/live/test.flv?token=dave-token-0001`, two);
      try {
        await waitFor("dave playing on edge-2", async () => ((await playingOf("dave")).length === 1 ? true : undefined));
        expect((await playingOf("dave"))[0]!.node).to.equal("edge-2");
        const revoked = await edges[0]!.api("POST", "/api/sessions/revoke", { user: "dave" });
        expect(revoked.status).to.equal(200);
        expect(revoked.json.closed).to.have.length(1);
        const ended = await Promise.race([viewer.done, new Promise<undefined>((r) => setTimeout(() => r(undefined), 15_000))]);
        expect(ended, "dave's viewer on edge-2 cut").to.not.equal(undefined);
        expect(ended!.bytes).to.be.above(0);
        await waitFor("dave's session on edge-2 logged as revoked", () =>
          edges[1]!.ended().some((s) => s.name === "dave" && s.reason === "revoked") ? true : undefined,
        );
        const again = await httpGetFor(`${listener}/live/test.flv?token=dave-token-0001`, 1000, { localAddress: two });
        expect(again.status).to.equal(403);
      } finally {
        viewer.stop();
        await edges[0]!.api("DELETE", "/api/revocations/user/dave");
      }
    });

    it("nginx's access log names the viewers' addresses, which is what it sent the edges", () => {
      const log = readFileSync(join(prefix!, "logs", "access.log"), "utf8");
      for (const address of nodeOf.keys()) expect(log).to.include(address);
    });
  },
);
