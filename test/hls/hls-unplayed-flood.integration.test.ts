import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNms, type NmsInstance } from "../helpers/nms-instance.js";
import { allow, PASS } from "../../plugin/src/core/decision.js";
import { TokenAuthorizer } from "../helpers/token-authorizer.js";
import { sleep } from "../helpers/sleep.js";
import { TEST_API_TOKEN } from "../helpers/api-tokens.js";
import { assertMatchesContract } from "../helpers/openapi-check.js";

const PLAYLIST =
  "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:2.0,\nseg_1.ts\n#EXTINF:2.0,\nseg_2.ts\n";
const API_TOKEN = TEST_API_TOKEN;

type Answer = { status: number; body: string; headers: http.IncomingHttpHeaders };

/** GETs on keep-alive connections from one local address, `parallel` at a time. */
function getter(port: number, localAddress = "127.0.0.1", parallel = 20) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: parallel, localAddress });
  const get = (path: string, headers: Record<string, string> = {}): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, path, agent, headers }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode!, body, headers: res.headers }));
      });
      req.on("error", reject);
      req.end();
    });
  return { get, close: () => agent.destroy() };
}

describe("HLS floods on a real NMS 4.4.3 with the plugin: unplayed sessions bounded, refusals counted not stored", function () {
  this.timeout(120_000);
  let root: string;
  let nms: NmsInstance;
  const closers: (() => void)[] = [];

  before(async () => {
    root = mkdtempSync(join(tmpdir(), "va-hls-unplayed-"));
    const channelDir = join(root, "hls", "live", "test");
    mkdirSync(channelDir, { recursive: true });
    writeFileSync(join(channelDir, "index.m3u8"), PLAYLIST);
    writeFileSync(join(channelDir, "seg_1.ts"), Buffer.alloc(1000, 0x47));
    nms = await startNms(
      {
        hls: { dir: join(root, "hls"), sessionIdleSec: 300 },
        stats: { file: join(root, "stats.sqlite"), flushIntervalMs: 200 },
        api: { enabled: true, port: 0, token: API_TOKEN },
      },
      // `sign=ok…` stands for a signed link that names no user: the bound then keys on the credential's value.
      {
        authorizers: [
          new TokenAuthorizer(),
          { name: "custom", decide: (r) => (r.params.get("sign")?.startsWith("ok") ? allow("signed link") : PASS) },
        ],
      },
    );
  });
  after(async () => {
    for (const close of closers.splice(0)) close();
    await nms?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  function client(localAddress?: string) {
    const c = getter(nms.httpPort, localAddress);
    closers.push(c.close);
    return c;
  }

  async function api(path: string): Promise<Answer> {
    const c = getter(nms.auth.api!.port!);
    try {
      const answer = await c.get(path, { Authorization: `Bearer ${API_TOKEN}` });
      assertMatchesContract({ method: "GET", path, ...answer });
      return answer;
    } finally {
      c.close();
    }
  }

  async function metric(name: string): Promise<number> {
    const text = (await api("/metrics")).body;
    const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return line === undefined ? 0 : Number(line.split(" ").at(-1));
  }

  const hlsSessions = () => nms.auth.sessions.count({ protocol: "hls" });

  it("200 playlist GETs with one valid token from one address open 8 sessions; the rest get 429 and are counted; a player on its session still plays", async () => {
    const a = client("127.0.0.1");
    const answers = await Promise.all(Array.from({ length: 200 }, () => a.get("/live/test/index.m3u8?token=good")));
    const opened = answers.filter((r) => r.status === 200);
    expect(opened, "opened").to.have.length(8);
    expect(
      answers.filter((r) => r.status === 429),
      "refused",
    ).to.have.length(192);
    expect(hlsSessions()).to.equal(8);
    expect(await metric("va_hls_unplayed_refused_total")).to.equal(192);

    // A player that got a session fetches its media playlist and a segment: it plays, and stops counting as unplayed.
    const key = /vas=([A-Za-z0-9_-]+)/.exec(opened[0]!.body)![1]!;
    expect((await a.get(`/live/test/index.m3u8?vas=${key}`)).status).to.equal(200);
    expect((await a.get(`/live/test/seg_1.ts?vas=${key}`)).status).to.equal(200);
    expect((await a.get("/live/test/index.m3u8?token=good")).status, "the played session freed its slot").to.equal(200);
    expect((await a.get("/live/test/index.m3u8?token=good")).status).to.equal(429);

    // Another address with the same token has a bound of its own.
    const b = client("127.0.0.2");
    const fromB = await Promise.all(Array.from({ length: 20 }, () => b.get("/live/test/index.m3u8?token=good")));
    expect(fromB.filter((r) => r.status === 200)).to.have.length(8);
    expect(fromB.filter((r) => r.status === 429)).to.have.length(12);

    // Sessions (and so memory) stay flat however long the flood goes on.
    const before = hlsSessions();
    for (let round = 0; round < 5; round++) await Promise.all(Array.from({ length: 200 }, () => a.get("/live/test/index.m3u8?token=good")));
    expect(hlsSessions()).to.equal(before);
    expect(before).to.equal(8 + 1 + 8);

    // The refusals are per-minute counters in the ledger (identified: the token names user u1), not one row each.
    await sleep(400);
    const refusals = JSON.parse((await api("/api/stats/refusals")).body) as {
      total: number;
      rows: { stage: string; reason: string; identified: boolean; count: number }[];
    };
    const unplayed = refusals.rows.filter((r) => r.stage === "hls-unplayed");
    expect(unplayed.reduce((n, r) => n + r.count, 0)).to.be.greaterThan(1000 - 10);
    expect(unplayed.every((r) => r.reason === "limit" && r.identified)).to.equal(true);
  });

  it("a credential that names no user is bounded by its value: another value has its own bound", async () => {
    const c = client("127.0.0.4");
    const first = await Promise.all(Array.from({ length: 12 }, () => c.get("/live/test/index.m3u8?sign=ok-1")));
    expect(first.map((r) => r.status).sort()).to.deep.equal([...Array(8).fill(200), ...Array(4).fill(429)]);
    const other = await Promise.all(Array.from({ length: 12 }, () => c.get("/live/test/index.m3u8?sign=ok-2")));
    expect(other.filter((r) => r.status === 200)).to.have.length(8);
  });

  it("a flood of garbage tokens: every refusal counted per minute, no sessions.csv line, allowed decisions still on the console", async () => {
    const c = client("127.0.0.3");
    expect((await c.get("/live/test/index.m3u8?token=good2")).status).to.equal(200);
    const sizeOf = (f: string) => {
      try {
        return statSync(f).size;
      } catch {
        return 0;
      }
    };
    const disk = () => sizeOf(join(root, "stats.sqlite")) + sizeOf(join(root, "stats.sqlite-wal"));
    const csvBefore = (await api("/api/stats/sessions.csv")).body;
    const diskBefore = disk();
    const total = 6_000;
    const started = process.hrtime.bigint();
    for (let i = 0; i < total; i += 200) {
      const answers = await Promise.all(Array.from({ length: 200 }, (_, j) => c.get(`/live/test/index.m3u8?token=garbage-${i + j}`)));
      expect(answers.every((r) => r.status === 403)).to.equal(true);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await sleep(400);
    const refusals = JSON.parse((await api("/api/stats/refusals")).body) as {
      total: number;
      rows: { stage: string; channel: string; identified: boolean; count: number }[];
    };
    const garbage = refusals.rows.filter((r) => r.stage === "default" && !r.identified);
    expect(garbage.reduce((n, r) => n + r.count, 0)).to.equal(total);
    expect(garbage.every((r) => r.channel === "live/test")).to.equal(true);
    expect((await api("/api/stats/sessions.csv")).body, "no CSV line per refusal").to.equal(csvBefore);
    console.log(
      `      ${total} refused HLS requests in ${seconds.toFixed(1)} s (${Math.round(total / seconds)}/s); ledger db+WAL grew ${disk() - diskBefore} bytes`,
    );
    const decisions = JSON.parse((await api("/api/decisions?verdict=allow&limit=1000")).body) as {
      decisions: { ip: string }[];
      anonymousRefusals: { total: number };
    };
    expect(
      decisions.decisions.some((d) => d.ip === "127.0.0.3"),
      "the allowed viewer before the flood",
    ).to.equal(true);
    expect(decisions.anonymousRefusals.total).to.be.at.least(total);
  });
});
