import { expect } from "chai";
import { AMF0_SAMPLES } from "../helpers/rtmp-wire.js";
import { caseAt } from "./case-plan.js";
import { flvMediaOf } from "./flv-media.js";
import { parseResponses } from "./http-responses.js";
import { RTMP_CATALOGUE } from "./rtmp-cases.js";

/** The short run's fixed plan: the same cases every time (`npm run fuzz -- --seed 11 --cases 72` runs them too). */
const SEED = 11;

describe("fuzz harness", () => {
  it("rebuilds every case from its seed and index alone, and a different seed changes the random cases", () => {
    const names = (seed: number) => Array.from({ length: 200 }, (_, i) => caseAt(seed, i).name);
    const first = names(SEED);
    const other = names(SEED + 1);
    expect(names(SEED)).to.deep.equal(first);
    expect(caseAt(SEED, 150).name, "replaying one case alone gives the same case").to.equal(first[150]);
    const differing = first.filter((name, i) => name !== other[i]);
    expect(differing.length, "random cases depend on the seed").to.be.greaterThan(20);
  });

  it("puts every AMF0 type into every field of connect, createStream, play and publish", () => {
    const names = new Set(RTMP_CATALOGUE.map((c) => c.name));
    for (const field of [
      "connect command object",
      "connect app",
      "connect tcUrl",
      "connect flashVer",
      "createStream",
      "play stream name",
      "publish stream name",
    ]) {
      for (const sample of AMF0_SAMPLES) expect(names.has(`${field} = ${sample.name}`), `${field} = ${sample.name}`).to.equal(true);
    }
  });

  it("splits pipelined responses by Content-Length, chunking, HEAD and an upgrade", () => {
    const wire = Buffer.from(
      [
        "HTTP/1.1 100 Continue\r\n\r\n",
        "HTTP/1.1 403 Forbidden\r\nContent-Length: 3\r\n\r\nno\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n",
        "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\u0082\u0001x",
      ].join(""),
      "latin1",
    );
    const parsed = parseResponses(wire, ["GET", "HEAD", "GET", "GET"], false);
    expect(parsed.responses.map((r) => [r.status, r.body.toString("latin1"), r.complete])).to.deep.equal([
      [403, "no\n", true],
      [200, "", true],
      [404, "ab", true],
      [101, "", true],
    ]);
    expect(parsed.afterUpgrade?.toString("latin1")).to.equal("\u0082\u0001x");
    expect(
      parseResponses(Buffer.from("HTTP/1.1 200 OK\r\n\r\nFLV", "latin1"), ["GET"], false).responses[0]!.complete,
      "a body without length ends only with the close",
    ).to.equal(false);
  });

  it("counts only whole audio and video tags as media", () => {
    const tag = (type: number, size: number) =>
      Buffer.concat([Buffer.from([type, 0, 0, size, 0, 0, 0, 0, 0, 0, 0]), Buffer.alloc(size), Buffer.alloc(4)]);
    const header = Buffer.from([0x46, 0x4c, 0x56, 1, 5, 0, 0, 0, 9, 0, 0, 0, 0]);
    const stream = Buffer.concat([header, tag(18, 20), tag(9, 30), tag(8, 10), tag(9, 50).subarray(0, 20)]);
    expect(flvMediaOf(stream)).to.deep.equal({ tags: 3, mediaTags: 2, mediaBytes: 40, malformed: false });
    expect(flvMediaOf(Buffer.from("HTTP/1.1", "latin1")).malformed).to.equal(true);
  });
});
