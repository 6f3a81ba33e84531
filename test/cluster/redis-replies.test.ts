import { expect } from "chai";
import { pairsOf } from "../../plugin/src/cluster/redis-replies.js";

describe("pairsOf: a map reply as key/value pairs, RESP2 or RESP3", () => {
  const cases: [string, unknown, [string, unknown][]][] = [
    ["nil", null, []],
    ["undefined", undefined, []],
    [
      "a RESP3 map (an object)",
      { a: "1", b: "2" },
      [
        ["a", "1"],
        ["b", "2"],
      ],
    ],
    [
      "a RESP2 flat array",
      ["a", "1", "b", "2"],
      [
        ["a", "1"],
        ["b", "2"],
      ],
    ],
    ["a flat array of odd length drops the dangling key", ["a", "1", "b"], [["a", "1"]]],
    [
      "an array of pairs",
      [
        ["a", "1"],
        ["b", "2"],
      ],
      [
        ["a", "1"],
        ["b", "2"],
      ],
    ],
    ["an empty array", [], []],
    ["a flat array with non-string keys", [1, "x"], [["1", "x"]]],
  ];
  for (const [name, reply, pairs] of cases) {
    it(name, () => {
      expect(pairsOf(reply)).to.deep.equal(pairs);
    });
  }
});
