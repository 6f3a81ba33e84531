import { expect } from "chai";
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HotFileCache } from "../../plugin/src/hls/hot-file-cache.js";
import { PreparedPlaylist } from "../../plugin/src/hls/prepared-playlist.js";
import { rewritePlaylist } from "../../plugin/src/hls/playlist-rewriter.js";
import { ManualClock } from "../helpers/manual-clock.js";

describe("HotFileCache", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "va-hot-cache-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const resolved = async (got: ReturnType<HotFileCache["get"]>) => (got instanceof Promise ? await got : got);

  it("never holds more than its byte bound, dropping the least recently used file first", async () => {
    const cache = new HotFileCache(40_000, 250, new ManualClock());
    for (let i = 0; i < 10; i++) writeFileSync(join(dir, `s${i}.ts`), Buffer.alloc(9_000, i));
    for (let i = 0; i < 10; i++) {
      expect((await resolved(cache.get(join(dir, `s${i}.ts`))))!.body[0]).to.equal(i);
      if (i >= 4) await resolved(cache.get(join(dir, "s0.ts"))); // kept hot
      expect(cache.bytes).to.be.at.most(40_000);
    }
    expect(cache.size).to.equal(4);
    expect(cache.bytes).to.equal(36_000);
    const before = cache.bytes;
    await resolved(cache.get(join(dir, "s0.ts")));
    expect(cache.bytes, "s0 stayed in, used recently").to.equal(before);
  });

  it("does not cache a file over a quarter of the bound, nor a missing one", async () => {
    const cache = new HotFileCache(40_000, 250, new ManualClock());
    writeFileSync(join(dir, "big.ts"), Buffer.alloc(10_001));
    expect(await resolved(cache.get(join(dir, "big.ts")))).to.equal(undefined);
    expect(await resolved(cache.get(join(dir, "none.ts")))).to.equal(null);
    expect(cache.bytes).to.equal(0);
  });

  it("serves from memory until the re-check interval passes, then sees a rewrite or a deletion", async () => {
    const clock = new ManualClock();
    const cache = new HotFileCache(1_000_000, 250, clock);
    const file = join(dir, "s.ts");
    writeFileSync(file, "version one");
    expect((await resolved(cache.get(file)))!.body.toString()).to.equal("version one");
    writeFileSync(file, "version two, longer");
    expect(cache.get(file), "within the interval: from memory, no disk access").to.not.be.instanceOf(Promise);
    clock.advance(250);
    expect((await resolved(cache.get(file)))!.body.toString()).to.equal("version two, longer");
    unlinkSync(file);
    clock.advance(250);
    expect(await resolved(cache.get(file))).to.equal(null);
    expect(cache.size).to.equal(0);
  });
});

describe("PreparedPlaylist", () => {
  it("renders exactly what rewritePlaylist writes, for any key, with the byte length", () => {
    const text = '#EXTM3U\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:2.0,\nseg_1.ts\n#EXTINF:2.0,\nsegé_2.ts?x=1#f\n//cdn.example/x.ts\n';
    const prepared = PreparedPlaylist.of(text);
    for (const key of ["k3y_of-a-session", "AAAAAAAAAAAAAAAAAAAAAA", "a b/c"]) {
      const { text: out, bytes } = prepared.render(key);
      expect(out).to.equal(rewritePlaylist(text, key));
      expect(bytes).to.equal(Buffer.byteLength(out));
    }
  });
});
