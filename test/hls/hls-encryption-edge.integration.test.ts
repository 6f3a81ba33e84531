import { expect } from "chai";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNginxEdge, stopNginx } from "../../bench/nginx-edge.js";
import { TEST_API_TOKEN } from "../helpers/api-tokens.js";
import { startBundledServer, testChannel, waitFor, type RunningServer } from "../helpers/bundled-server.js";
import { hasFfmpeg, playWithFfmpeg } from "../helpers/ffmpeg.js";
import { freePort } from "../helpers/free-port.js";
import { keyedSegmentsOf } from "../helpers/hls-decrypt.js";
import { apiFetch } from "../helpers/openapi-check.js";
import { TokenAuthorizer } from "../helpers/token-authorizer.js";

const NGINX = "/usr/sbin/nginx";
const SECRET = "edge-enc-test-secret-0123456789abcdef";

describe("encrypted channel in edge mode: segments from a real nginx, keys and playlists from the gate (real ffmpeg, real NMS)", function () {
  this.timeout(180_000);
  const step = new TokenAuthorizer();
  let run: RunningServer;
  let nginx: ChildProcess | undefined;
  let nginxBase: string;
  let nginxPrefix: string;
  const gate = (path: string) => `${run.httpBase}${path}`;
  const get = async (url: string) => {
    const res = await fetch(url);
    return { status: res.status, body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
  };

  before(async function () {
    if (!hasFfmpeg || !existsSync(NGINX)) this.skip();
    const port = await freePort();
    nginxBase = `http://127.0.0.1:${port}`;
    const enc = { ...testChannel("enc"), hls: { segmentSec: 1, listSize: 4, encryption: { method: "aes-128", rotateEverySegments: 2 } } };
    run = await startBundledServer(
      {
        hls: { edge: { baseUrl: nginxBase, secret: SECRET, expiresSeconds: 60, bindIp: true, format: "nginx-secure-link-md5" } },
        api: { enabled: true, port: 0, token: TEST_API_TOKEN },
        channels: [enc],
      },
      { authorizers: [step] },
    );
    nginxPrefix = mkdtempSync(join(tmpdir(), "va-enc-edge-nginx-"));
    // nginx runs as this user (one process, no workers): it reads the server's private HLS tree.
    nginx = startNginxEdge({ prefix: nginxPrefix, port, root: join(run.dataDir, "hls"), secret: SECRET });
    await waitFor("nginx to listen", async () => ((await fetch(`${nginxBase}/`).catch(() => null))?.status === 403 ? true : undefined));
    await waitFor(
      "the encrypted channel's playlist",
      () => {
        try {
          return statSync(join(run.dataDir, "hls/live/enc/index.m3u8")).size > 0 ? true : undefined;
        } catch {
          return undefined;
        }
      },
      90_000,
    );
  });
  after(async () => {
    await stopNginx(nginx);
    await run?.stop();
    if (nginxPrefix !== undefined) rmSync(nginxPrefix, { recursive: true, force: true });
  });

  /** A new session with `token`: its key and the gate's media playlist for it. */
  async function open(token: string): Promise<{ vas: string; media: string }> {
    const wrapper = await get(gate(`/live/enc/index.m3u8?token=${token}`));
    expect(wrapper.status).to.equal(200);
    const vas = /vas=([A-Za-z0-9_-]{22})/.exec(wrapper.body.toString())![1]!;
    const media = await get(gate(`/live/enc/index.m3u8?vas=${vas}`));
    expect(media.status).to.equal(200);
    return { vas, media: media.body.toString() };
  }

  it("the gate's playlist: segment links on nginx (signed, no session key), key links on the gate (session key); both answer", async () => {
    const { vas, media } = await open("good");
    const segments = keyedSegmentsOf(media);
    expect(segments.length).to.be.greaterThan(0);
    for (const s of segments) {
      expect(s.uri).to.match(new RegExp(`^${nginxBase}/live/enc/seg_\\d+\\.ts\\?md5=[A-Za-z0-9_-]{22}&expires=\\d+$`));
      expect(s.keyUri).to.match(new RegExp(`^k[0-9a-f]{16}\\.key\\?vas=${vas}$`));
    }
    const segment = await get(segments[0]!.uri);
    expect(segment.status).to.equal(200);
    expect(segment.body.length).to.be.greaterThan(0);
    expect(segment.body[0], "encrypted on the edge too (no TS sync byte)").to.not.equal(0x47);
    const key = await get(gate(`/live/enc/${segments[0]!.keyUri}`));
    expect(key.status).to.equal(200);
    expect(key.body.length).to.equal(16);
    expect(key.headers.get("cache-control")).to.equal("no-store");
    // The keys are nowhere an edge can serve them.
    const keyName = segments[0]!.keyUri!.split("?")[0]!;
    expect((await get(`${nginxBase}/live/enc/${keyName}`)).status).to.equal(403);
    expect(existsSync(join(run.dataDir, "hls/live/enc", keyName))).to.equal(false);
  });

  it("ffmpeg plays the gate's playlist URL: keys from the gate, segments from nginx, frames decoded", async () => {
    const played = await playWithFfmpeg(gate("/live/enc/index.m3u8?token=good"), { seconds: 4, decode: true, killAfterMs: 60_000 });
    expect(played.code, played.stderr.slice(-3000)).to.equal(0);
    expect(played.frames, played.stderr.slice(-3000)).to.be.greaterThan(15);
    expect(played.stderr).to.not.match(/decrypt|Error when loading first segment|Invalid data found/i);
  });

  it("a revocation (POST /api/revocations) stops key delivery at once: the next key request is 403", async () => {
    const { vas, media } = await open("good2");
    const keyUri = keyedSegmentsOf(media)[0]!.keyUri!;
    expect((await get(gate(`/live/enc/${keyUri}`))).status).to.equal(200);
    const revoked = await apiFetch(`http://127.0.0.1:${run.server.ports.api}/api/revocations`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_API_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ token: "good2", ttlSec: 600 }),
    });
    expect(revoked.status).to.equal(201);
    const after = await get(gate(`/live/enc/${keyUri}`));
    expect(after.status).to.equal(403);
    expect(after.body.length).to.be.below(16);
    expect((await get(gate(`/live/enc/index.m3u8?vas=${vas}`))).status, "no new playlist (no new links) either").to.equal(403);
    // Another viewer's session is untouched.
    const other = await open("good");
    expect((await get(gate(`/live/enc/${keyedSegmentsOf(other.media)[0]!.keyUri}`))).status).to.equal(200);
  });
});
