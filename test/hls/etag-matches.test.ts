import { expect } from "chai";
import { etagMatches } from "../../plugin/src/hls/etag-matches.js";

describe("etagMatches: If-None-Match, weak comparison (RFC 9110 §13.1.2)", () => {
  const ETAG = '"5d-1a2b"';
  const cases: [string | undefined, string, boolean][] = [
    [undefined, ETAG, false],
    ["", ETAG, false],
    ["*", ETAG, true],
    [" * ", ETAG, true],
    [ETAG, ETAG, true],
    [`W/${ETAG}`, ETAG, true],
    [ETAG, `W/${ETAG}`, true],
    [`W/${ETAG}`, `W/${ETAG}`, true],
    ['"other", "5d-1a2b"', ETAG, true],
    ['"a",W/"5d-1a2b" ,"b"', ETAG, true],
    ['"other"', ETAG, false],
    ["5d-1a2b", ETAG, false],
    ['"5D-1A2B"', ETAG, false],
    ['"5d-1a2b', ETAG, false],
    ['*, "x"', ETAG, false],
  ];
  for (const [header, etag, expected] of cases) {
    it(`${JSON.stringify(header)} against ${etag}: ${expected}`, () => {
      expect(etagMatches(header, etag)).to.equal(expected);
    });
  }
});
