import { expect } from "chai";
import type { InputProblem } from "../../plugin/src/gate/input-problem.js";
import {
  nameProblem,
  PLAY_FIELD_LIMITS,
  playFieldsProblem,
  queryProblem,
  textProblem,
  type PlayFields,
} from "../../plugin/src/gate/play-fields.js";

describe("play-fields: the rules for what a viewer or publisher sends", () => {
  describe("nameProblem (NMS's safe names)", () => {
    const cases: [unknown, number, string | null][] = [
      ["live", 128, null],
      ["A-z_09", 128, null],
      ["a".repeat(128), 128, null],
      ["a".repeat(129), 128, "longer than 128 characters"],
      ["", 128, "empty"],
      [undefined, 128, "not a string"],
      [42, 128, "not a string"],
      [["live"], 128, "not a string"],
      ["a b", 128, "has characters other than A-Z a-z 0-9 _ -"],
      ["a.b", 128, "has characters other than A-Z a-z 0-9 _ -"],
      ["a/b", 128, "has characters other than A-Z a-z 0-9 _ -"],
      ["café", 128, "has characters other than A-Z a-z 0-9 _ -"],
      ["a\u0000", 128, "has characters other than A-Z a-z 0-9 _ -"],
      ["live\n", 128, "has characters other than A-Z a-z 0-9 _ -"],
    ];
    for (const [value, max, reason] of cases) {
      it(`${JSON.stringify(value)?.slice(0, 30)} (max ${max}): ${reason}`, () => {
        expect(nameProblem(value, max)).to.equal(reason);
      });
    }
  });

  describe("textProblem", () => {
    const cases: [unknown, number, "printable-ascii" | "no-controls", string | null][] = [
      ["", 10, "printable-ascii", null],
      ["FMLE/3.0 (compatible; x)", 256, "printable-ascii", null],
      ["~ !", 10, "printable-ascii", null],
      ["é", 10, "printable-ascii", "has characters other than printable ASCII"],
      ["a\tb", 10, "printable-ascii", "has characters other than printable ASCII"],
      ["\u007f", 10, "printable-ascii", "has characters other than printable ASCII"],
      ["Mozilla/5.0 é ü", 512, "no-controls", null],
      ["a\u0085b", 512, "no-controls", "has control characters"],
      ["a\u007fb", 512, "no-controls", "has control characters"],
      ["a\r\nb", 512, "no-controls", "has control characters"],
      ["x".repeat(11), 10, "no-controls", "longer than 10 characters"],
      ["x".repeat(10), 10, "no-controls", null],
      [null, 10, "no-controls", "not a string"],
      [{ a: 1 }, 10, "printable-ascii", "not a string"],
    ];
    for (const [value, max, charset, reason] of cases) {
      it(`${JSON.stringify(value)?.slice(0, 30)} as ${charset} (max ${max}): ${reason}`, () => {
        expect(textProblem(value, max, charset)).to.equal(reason);
      });
    }
  });

  describe("queryProblem", () => {
    const cases: [string, string | null][] = [
      ["", null],
      ["token=a.b.c&x=%00", null],
      ["q".repeat(8192), null],
      ["q".repeat(8193), "query longer than 8192 characters"],
      ["a=\u0000", "query has control characters"],
      ["a=\u009b", "query has control characters"],
      ["a=é", null],
    ];
    for (const [value, reason] of cases) {
      it(`${JSON.stringify(value).slice(0, 30)}: ${reason}`, () => {
        expect(queryProblem(value)).to.equal(reason);
      });
    }
  });

  describe("playFieldsProblem: the first problem, fields in a fixed order", () => {
    const cases: [string, PlayFields, InputProblem | null][] = [
      ["nothing given: nothing to check", {}, null],
      ["all fields good", { app: "live", channel: "test", userAgent: "VLC/3.0 é", host: "h:8000", origin: "" }, null],
      [
        "a bad app",
        { app: "li ve", channel: "test" },
        { field: "app", reason: "has characters other than A-Z a-z 0-9 _ -", value: "li ve" },
      ],
      ["a bad app before a bad channel", { channel: "", app: "" }, { field: "app", reason: "empty", value: "" }],
      [
        "a channel over 1024 characters",
        { app: "live", channel: "c".repeat(1025) },
        { field: "channel", reason: "longer than 1024 characters", value: "c".repeat(1025) },
      ],
      [
        "a channel given as undefined is checked",
        { app: "live", channel: undefined },
        { field: "channel", reason: "not a string", value: undefined },
      ],
      ["a user agent that is an object", { userAgent: { a: 1 } }, { field: "userAgent", reason: "not a string", value: { a: 1 } }],
      [
        "a user agent over 512 characters",
        { userAgent: "u".repeat(513) },
        { field: "userAgent", reason: "longer than 512 characters", value: "u".repeat(513) },
      ],
      ["a host with a control character", { host: "h\u0007" }, { field: "host", reason: "has control characters", value: "h\u0007" }],
      ["an origin with a newline", { origin: "https://h\n" }, { field: "origin", reason: "has control characters", value: "https://h\n" }],
      [
        "names are checked before headers",
        { userAgent: 5, app: "a.b" },
        { field: "app", reason: "has characters other than A-Z a-z 0-9 _ -", value: "a.b" },
      ],
    ];
    for (const [name, fields, problem] of cases) {
      it(name, () => {
        expect(playFieldsProblem(fields)).to.deep.equal(problem);
      });
    }
  });

  it("states its bounds", () => {
    expect(PLAY_FIELD_LIMITS).to.deep.equal({
      appChars: 128,
      nameChars: 1024,
      queryChars: 8192,
      tcUrlChars: 1024,
      flashVerChars: 256,
      headerChars: 512,
    });
  });
});
