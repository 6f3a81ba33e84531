import { expect } from "chai";
import { parseByteRange } from "../../plugin/src/hls/byte-range.js";

/** Nanoseconds of the fastest of `samples` runs of `parse` over `header` (the fastest run is the least disturbed by other load). */
function fastestNs(header: string, samples: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < samples; i++) {
    const started = process.hrtime.bigint();
    parseByteRange(header, 1000);
    best = Math.min(best, Number(process.hrtime.bigint() - started));
    if (best > 100e6) break; // far past any bound: no need to sit through more runs
  }
  return best;
}

/** Adversarial Range shapes of about `length` characters: long runs where a backtracking regex tries every split. */
const SHAPES: Record<string, (length: number) => string> = {
  "spaces after =, then junk": (n) => "bytes=" + " ".repeat(n) + "x",
  "spaces after = (nothing else)": (n) => "bytes=" + " ".repeat(n),
  "tabs and spaces after =, then junk": (n) => "bytes=" + "\t ".repeat(n / 2) + "x",
  "spaces after -, then junk": (n) => "bytes=0-" + " ".repeat(n) + "x",
  "spaces after a suffix -, then junk": (n) => "bytes=-" + " ".repeat(n) + "x",
  "spaces before =": (n) => "bytes" + " ".repeat(n) + "=x",
  "spaces around -": (n) => "bytes=1" + " ".repeat(n / 2) + "-" + " ".repeat(n / 2) + "x",
  "many digits": (n) => "bytes=" + "9".repeat(n),
  "many digits, then junk": (n) => "bytes=" + "1".repeat(n) + " x",
  "a run of -": (n) => "bytes=" + "-".repeat(n),
  "digits and blanks alternating": (n) => "bytes=" + "1 ".repeat(n / 2) + "-",
};

describe("parseByteRange (RFC 9110 single byte range)", () => {
  it("a single range, clipped to the file; open and suffix ranges", () => {
    expect(parseByteRange("bytes=10-19", 100)).to.deep.equal({ start: 10, end: 19 });
    expect(parseByteRange("bytes=10-1000", 100)).to.deep.equal({ start: 10, end: 99 });
    expect(parseByteRange("bytes=97-", 100)).to.deep.equal({ start: 97, end: 99 });
    expect(parseByteRange("bytes=-5", 100)).to.deep.equal({ start: 95, end: 99 });
    expect(parseByteRange("bytes=-500", 100)).to.deep.equal({ start: 0, end: 99 });
    expect(parseByteRange("BYTES = 1 - 2", 100), "blanks and case").to.deep.equal({ start: 1, end: 2 });
    expect(parseByteRange("Bytes\t=\t1\t-\t2\t", 100)).to.deep.equal({ start: 1, end: 2 });
    expect(parseByteRange("bytes=0-0", 1)).to.deep.equal({ start: 0, end: 0 });
  });

  it("unsatisfiable: a start at or past the end, a zero-length suffix, a suffix of an empty file", () => {
    expect(parseByteRange("bytes=100-", 100)).to.equal("unsatisfiable");
    expect(parseByteRange("bytes=100-200", 100)).to.equal("unsatisfiable");
    expect(parseByteRange("bytes=-0", 100)).to.equal("unsatisfiable");
    expect(parseByteRange("bytes=-5", 0)).to.equal("unsatisfiable");
    expect(parseByteRange("bytes=0-", 0)).to.equal("unsatisfiable");
  });

  it("missing, malformed, non-byte and multi-range headers → null (the whole file)", () => {
    for (const header of [
      undefined,
      "",
      "bytes",
      "bytes=",
      "bytes=-",
      "bytes=5-1",
      "bytes=abc",
      "bytes=1-2,4-5",
      "bytes=-1,99999999999999999999-",
      "items=0-1",
      "bytes 0-1",
      "bytes=0-1x",
      "bytes=0x1-2",
      "bytes=+1-2",
      "bytes=1.5-2",
      "bytes=0--1",
      "bytes==0-1",
      "bytes=99999999999999999999-",
      "bytes=0-99999999999999999999",
      "bytes=\u0661-2",
      "bytes=1\u00a0-2",
      "bytesx=0-1",
      "ſytes=0-1",
      "\u0142ytes=0-1",
      " bytes=0-1",
    ]) {
      expect(parseByteRange(header, 100), String(header)).to.equal(null);
    }
  });

  it("reads every short header as the former anchored regex did", () => {
    // The former implementation, kept here as the reference for short inputs only (it is quadratic on long blank runs).
    const former = /^bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*$/i;
    const formerParse = (header: string, size: number) => {
      const match = former.exec(header);
      if (match === null) return null;
      const [, first = "", last = ""] = match;
      if (first === "" && last === "") return null;
      if (first === "") {
        const length = Number(last);
        if (length === 0 || size === 0) return "unsatisfiable";
        return { start: Math.max(0, size - length), end: size - 1 };
      }
      const start = Number(first);
      const end = last === "" ? Number.MAX_SAFE_INTEGER : Number(last);
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return null;
      if (start >= size) return "unsatisfiable";
      return { start, end: Math.min(end, size - 1) };
    };
    // Every tail up to 6 characters over an alphabet holding each kind of character the grammar knows.
    const alphabet = ["0", "7", "-", "=", " ", "\t", ",", "x"];
    let checked = 0;
    const mismatches: string[] = [];
    const visit = (tail: string) => {
      for (const prefix of ["bytes", "ByTeS", "byte"]) {
        const header = prefix + tail;
        for (const size of [0, 8, 100]) {
          const got = JSON.stringify(parseByteRange(header, size));
          const want = JSON.stringify(formerParse(header, size));
          if (got !== want && mismatches.length < 10) mismatches.push(`${JSON.stringify(header)} size ${size}: ${got}, was ${want}`);
          checked++;
        }
      }
      if (tail.length < 6) for (const c of alphabet) visit(tail + c);
    };
    visit("");
    expect(mismatches).to.deep.equal([]);
    expect(checked).to.be.greaterThan(2_000_000);
  });

  it("takes time proportional to the header's length on adversarial shapes (100,000 characters)", function () {
    this.timeout(60000);
    for (const [name, shape] of Object.entries(SHAPES)) {
      const short = shape(10_000);
      const long = shape(100_000);
      fastestNs(short, 20); // warm the JIT before timing
      const longNs = fastestNs(long, 5);
      const shortNs = fastestNs(short, 20);
      const ratio = longNs / Math.max(shortNs, 1);
      // Linear: the 10× longer header costs ~10×; the former regex cost ~100× (and seconds in absolute terms).
      expect(longNs / 1e6, `${name}: ms for 100k characters`).to.be.below(20);
      expect(ratio, `${name}: 100k vs 10k (${(longNs / 1e6).toFixed(3)} ms vs ${(shortNs / 1e6).toFixed(3)} ms)`).to.be.below(40);
    }
  });
});
