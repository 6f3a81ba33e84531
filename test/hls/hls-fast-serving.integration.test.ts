import { expect } from "chai";
import { mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStandaloneGate, type StandaloneGate } from "../../bench/standalone-hls-gate.js";
import { rewritePlaylist } from "../../plugin/src/hls/playlist-rewriter.js";
import { waitFor } from "../helpers/wait-for.js";

const PLAYLIST =
  "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:2.0,\nseg_1.ts\n#EXTINF:2.0,\nseg_2.ts\n";

type Answer = { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer };

/** One request on a fresh connection, the body read whole. */
function get(port: number, path: string, headers: Record<string, string> = {}, method = "GET"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("HLS gate: fast serving (memory cache, prepared playlists, ETag, Range, HEAD)", function () {
  this.timeout(20000);
  for (const cacheBytes of [64 * 1024 * 1024, 0]) {
    describe(cacheBytes === 0 ? "with hls.segmentCacheBytes 0 (from disk)" : "with the memory cache", () => {
      let root: string;
      let channelDir: string;
      let gate: StandaloneGate;
      let key: string;
      const segment = Buffer.alloc(100_000);
      for (let i = 0; i < segment.length; i++) segment[i] = (i * 7) & 0xff;

      before(async () => {
        root = mkdtempSync(join(tmpdir(), "va-hls-fast-"));
        channelDir = join(root, "live", "ch");
        mkdirSync(channelDir, { recursive: true });
        writeFileSync(join(channelDir, "index.m3u8"), PLAYLIST);
        writeFileSync(join(channelDir, "seg_1.ts"), segment);
        gate = await startStandaloneGate(root, undefined, { segmentCacheBytes: cacheBytes });
        const wrapper = (await get(gate.port, "/live/ch/index.m3u8")).body.toString();
        key = /vas=([A-Za-z0-9_-]+)/.exec(wrapper)![1]!;
      });
      after(async () => {
        await gate.close();
        rmSync(root, { recursive: true, force: true });
      });
      const session = () => gate.keys.lookup(key, "live", "ch", { family: 4, value: 0x7f000001, text: "127.0.0.1" } as never);

      it("a segment: 200 with Content-Length, ETag and Accept-Ranges, the bytes counted to the session", async () => {
        const before = (session() as { bytesOut: number }).bytesOut;
        const got = await get(gate.port, `/live/ch/seg_1.ts?vas=${key}`);
        expect(got.status).to.equal(200);
        expect(got.body.equals(segment)).to.equal(true);
        expect(got.headers["content-length"]).to.equal(String(segment.length));
        expect(got.headers["accept-ranges"]).to.equal("bytes");
        expect(got.headers.etag).to.match(/^"[0-9a-f-]+"$/);
        expect(got.headers["cache-control"]).to.equal("private, max-age=60");
        expect((session() as { bytesOut: number }).bytesOut - before).to.equal(segment.length);
      });

      it("a keyed playlist: ETag per version, 304 on If-None-Match (the session still touched); the key read wherever the query has it", async () => {
        const first = await get(gate.port, `/live/ch/index.m3u8?vas=${key}`);
        expect(first.status).to.equal(200);
        expect(first.body.toString()).to.equal(rewritePlaylist(PLAYLIST, key));
        expect(first.headers["content-length"]).to.equal(String(first.body.length));
        const etag = first.headers.etag as string | undefined;
        if (cacheBytes > 0) {
          expect(etag).to.match(/^"[0-9a-f-]+"$/);
          const touchedBefore = (session() as { viewer: { lastActivityAt: number } }).viewer.lastActivityAt;
          await waitFor("the clock to move", () => (Date.now() > touchedBefore + 2 ? true : undefined));
          const again = await get(gate.port, `/live/ch/index.m3u8?vas=${key}`, { "If-None-Match": etag! });
          expect(again.status).to.equal(304);
          expect(again.body.length).to.equal(0);
          expect((session() as { viewer: { lastActivityAt: number } }).viewer.lastActivityAt).to.be.greaterThan(touchedBefore);
        } else expect(etag, "from disk: no version to name").to.equal(undefined);
        for (const query of [`x=1&vas=${key}`, `vas=${key}&x=1`, `v%61s=${key}`]) {
          expect((await get(gate.port, `/live/ch/index.m3u8?${query}`)).status, query).to.equal(200);
        }
        expect((await get(gate.port, `/live/ch/index.m3u8?vas=${key}x`)).status).to.equal(403);
        expect((await get(gate.port, `/live/ch/index.m3u8?vas=&vas=${key}`)).status, "the first vas counts").to.equal(403);
      });

      it("If-None-Match with the segment's ETag → 304 without a body; another tag → 200", async () => {
        const { headers } = await get(gate.port, `/live/ch/seg_1.ts?vas=${key}`);
        const etag = headers.etag as string;
        const revalidated = await get(gate.port, `/live/ch/seg_1.ts?vas=${key}`, { "If-None-Match": `"other", ${etag}` });
        expect(revalidated.status).to.equal(304);
        expect(revalidated.body.length).to.equal(0);
        expect(revalidated.headers.etag).to.equal(etag);
        expect((await get(gate.port, `/live/ch/seg_1.ts?vas=${key}`, { "If-None-Match": '"other"' })).status).to.equal(200);
      });

      it("Range: a single range → 206 with Content-Range and those bytes; suffix and open ranges; unsatisfiable → 416", async () => {
        const mid = await get(gate.port, `/live/ch/seg_1.ts?vas=${key}`, { Range: "bytes=10-19" });
        expect(mid.status).to.equal(206);
        expect(mid.headers["content-range"]).to.equal(`bytes 10-19/${segment.length}`);
        expect(mid.headers["content-length"]).to.equal("10");
        expect(mid.body.equals(segment.subarray(10, 20))).to.equal(true);
        const suffix = await get(gate.port, `/live/ch/seg_1.ts?vas=${key}`, { Range: "bytes=-5" });
        expect(suffix.status).to.equal(206);
        expect(suffix.body.equals(segment.subarray(segment.length - 5))).to.equal(true);
        const open = await get(gate.port, `/live/ch/seg_1.ts?vas=${key}`, { Range: `bytes=${segment.length - 3}-` });
        expect(open.headers["content-range"]).to.equal(`bytes ${segment.length - 3}-${segment.length - 1}/${segment.length}`);
        const beyond = await get(gate.port, `/live/ch/seg_1.ts?vas=${key}`, { Range: `bytes=${segment.length}-` });
        expect(beyond.status).to.equal(416);
        expect(beyond.headers["content-range"]).to.equal(`bytes */${segment.length}`);
        const multi = await get(gate.port, `/live/ch/seg_1.ts?vas=${key}`, { Range: "bytes=0-1,5-6" });
        expect(multi.status, "a multi-range request gets the whole file").to.equal(200);
        expect(multi.body.length).to.equal(segment.length);
      });

      it("an adversarial Range header (15,000 blanks, digits, tabs) is answered as fast as a plain request", async () => {
        const blanks = " ".repeat(15_000); // with the request line and Host, just under node's 16 KiB header limit
        const cases: Array<[string, number]> = [
          [`bytes=${blanks}x`, 200],
          [`bytes=0-${blanks}x`, 200],
          [`bytes=-${blanks}x`, 200],
          [`bytes=${"\t ".repeat(7_500)}x`, 200],
          [`bytes=${"9".repeat(15_000)}`, 200],
          [`bytes=${"-".repeat(15_000)}`, 200],
          [`bytes=${" ".repeat(7_000)}10${" ".repeat(7_000)}-19`, 206],
          [`bytes=${segment.length}${" ".repeat(15_000)}-`, 416],
        ];
        // The fastest of 7: a busy machine only ever adds time, while a slow parser costs every request.
        const fastestMs = async (range: string | undefined, status: number) => {
          const times: number[] = [];
          for (let i = 0; i < 7; i++) {
            const started = process.hrtime.bigint();
            const got = await get(gate.port, `/live/ch/seg_1.ts?vas=${key}`, range === undefined ? {} : { Range: range });
            times.push(Number(process.hrtime.bigint() - started) / 1e6);
            expect(got.status, JSON.stringify(range?.slice(0, 20))).to.equal(status);
          }
          return Math.min(...times);
        };
        const plainMs = await fastestMs(undefined, 200);
        const measured: string[] = [`plain ${plainMs.toFixed(2)} ms`];
        for (const [range, status] of cases) {
          const ms = await fastestMs(range, status);
          measured.push(`${JSON.stringify(range.slice(0, 10))}… ${ms.toFixed(2)} ms`);
          // The goal is under 5 ms on an idle machine; the former regex took 100+ ms per blank-run header.
          expect(ms, measured.join(", ")).to.be.below(Math.max(50, plainMs * 5));
        }
      });

      it("HEAD: the headers of the GET, no body", async () => {
        const head = await get(gate.port, `/live/ch/seg_1.ts?vas=${key}`, {}, "HEAD");
        expect(head.status).to.equal(200);
        expect(head.headers["content-length"]).to.equal(String(segment.length));
        expect(head.headers.etag).to.match(/^"/);
        expect(head.body.length).to.equal(0);
        const playlist = await get(gate.port, `/live/ch/index.m3u8?vas=${key}`, {}, "HEAD");
        expect(playlist.status).to.equal(200);
        expect(Number(playlist.headers["content-length"])).to.equal(Buffer.byteLength(rewritePlaylist(PLAYLIST, key)));
        expect(playlist.body.length).to.equal(0);
      });

      it("a playlist is the rewritten file with this session's key, Content-Length exact", async () => {
        const got = await get(gate.port, `/live/ch/index.m3u8?vas=${key}`);
        expect(got.body.toString()).to.equal(rewritePlaylist(PLAYLIST, key));
        expect(got.headers["content-length"]).to.equal(String(got.body.length));
      });

      it("a rewritten or deleted file is served fresh (the cache re-checks the disk)", async () => {
        const first = await get(gate.port, `/live/ch/seg_1.ts?vas=${key}`);
        const replacement = Buffer.alloc(segment.length, 0x47); // same size: only the modification time and inode tell
        writeFileSync(join(channelDir, "seg_1.ts.tmp"), replacement);
        renameSync(join(channelDir, "seg_1.ts.tmp"), join(channelDir, "seg_1.ts"));
        await waitFor(
          "the rewritten segment",
          async () => ((await get(gate.port, `/live/ch/seg_1.ts?vas=${key}`)).body.equals(replacement) ? true : undefined),
          5000,
        );
        expect((await get(gate.port, `/live/ch/seg_1.ts?vas=${key}`)).headers.etag).to.not.equal(first.headers.etag);
        const next = PLAYLIST + "#EXTINF:2.0,\nseg_3.ts\n";
        writeFileSync(join(channelDir, "index.m3u8"), next);
        await waitFor(
          "the rewritten playlist",
          async () =>
            (await get(gate.port, `/live/ch/index.m3u8?vas=${key}`)).body.toString() === rewritePlaylist(next, key) ? true : undefined,
          5000,
        );
        unlinkSync(join(channelDir, "seg_1.ts"));
        await waitFor(
          "the deleted segment to 404",
          async () => ((await get(gate.port, `/live/ch/seg_1.ts?vas=${key}`)).status === 404 ? true : undefined),
          5000,
        );
        writeFileSync(join(channelDir, "seg_1.ts"), segment);
      });

      it("no key, an unknown key or another channel's path → 403, cached or not", async () => {
        await get(gate.port, `/live/ch/seg_1.ts?vas=${key}`); // in the cache now
        expect((await get(gate.port, "/live/ch/seg_1.ts")).status).to.equal(403);
        expect((await get(gate.port, "/live/ch/seg_1.ts?vas=AAAAAAAAAAAAAAAAAAAAAA")).status).to.equal(403);
        expect((await get(gate.port, "/live/ch/index.m3u8?vas=AAAAAAAAAAAAAAAAAAAAAA")).status).to.equal(403);
        expect((await get(gate.port, "/live/ch/seg_1.ts?vas=AAAAAAAAAAAAAAAAAAAAAA", { Range: "bytes=0-9" })).status).to.equal(403);
        mkdirSync(join(root, "live", "other"), { recursive: true });
        writeFileSync(join(root, "live", "other", "seg_1.ts"), segment);
        expect((await get(gate.port, `/live/other/seg_1.ts?vas=${key}`)).status).to.equal(403);
      });
    });
  }
});
