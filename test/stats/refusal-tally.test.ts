import { expect } from "chai";
import type { ViewerSession } from "../../plugin/src/core/viewer-session.js";
import { OTHER_CHANNEL, REFUSAL_CHANNEL_CHARS, REFUSAL_KEYS_PER_MINUTE, RefusalTally } from "../../plugin/src/stats/refusal-tally.js";

const MINUTE = 60_000;
const T0 = 1_700_000_040_000; // a whole minute
/** The fields of an ended session a tally reads. */
const ended = (fields: { app?: unknown; channel?: unknown; protocol?: string; endReason?: string; stage?: string } = {}): ViewerSession =>
  ({
    app: fields.app ?? "live",
    channel: fields.channel ?? "cam1",
    protocol: fields.protocol ?? "hls",
    endReason: fields.endReason ?? "denied",
    refusal: fields.stage === undefined ? undefined : { stage: fields.stage },
  }) as unknown as ViewerSession;

describe("RefusalTally: sessions that never played, counted per minute", () => {
  it("counts alike sessions of one minute in one counter, in the minute's start", () => {
    const tally = new RefusalTally();
    tally.add(ended({ stage: "backend" }), T0 + 5_000, false);
    tally.add(ended({ stage: "backend" }), T0 + 59_999, false);
    expect(tally.pending()).to.deep.equal([
      { minute: T0, reason: "denied", stage: "backend", channel: "live/cam1", protocol: "hls", identified: 0, count: 2 },
    ]);
  });

  const separate: [string, Parameters<typeof ended>[0], boolean, number][] = [
    ["another minute", {}, false, T0 + MINUTE],
    ["another reason", { endReason: "limit" }, false, T0],
    ["another stage", { stage: "ip-deny" }, false, T0],
    ["another channel", { channel: "cam2" }, false, T0],
    ["another protocol", { protocol: "rtmp" }, false, T0],
    ["an identified viewer", {}, true, T0],
  ];
  for (const [name, fields, identified, at] of separate) {
    it(`${name} is another counter`, () => {
      const tally = new RefusalTally();
      tally.add(ended({ stage: "backend" }), T0, false);
      tally.add(ended({ stage: "backend", ...fields }), at, identified);
      expect(tally.size).to.equal(2);
    });
  }

  const normalized: [string, Parameters<typeof ended>[0], object][] = [
    ["no refusal stage (left, idle): none", { endReason: "viewer-left" }, { reason: "viewer-left", stage: "none" }],
    ["an unknown end reason: other", { endReason: "exploded" }, { reason: "other" }],
    ["an unknown stage: other", { stage: "made-up" }, { stage: "other" }],
    ["an unknown protocol: other", { protocol: "gopher" }, { protocol: "other" }],
    [
      "a long app and channel: each cut, then the whole",
      { app: "a".repeat(60), channel: "c".repeat(60) },
      { channel: "a".repeat(REFUSAL_CHANNEL_CHARS) },
    ],
    ["a channel that is not text: a marker", { channel: { evil: true } }, { channel: "live/[value]" }],
    ["a numeric channel: its digits", { channel: 42 }, { channel: "live/42" }],
  ];
  for (const [name, fields, expected] of normalized) {
    it(name, () => {
      const tally = new RefusalTally();
      tally.add(ended(fields), T0, false);
      expect(tally.pending()[0]).to.include(expected);
    });
  }

  it("past REFUSAL_KEYS_PER_MINUTE counters in a minute, new channels go to (other); known ones still count", () => {
    const tally = new RefusalTally();
    for (let i = 0; i < REFUSAL_KEYS_PER_MINUTE; i++) tally.add(ended({ channel: `c${i}` }), T0, false);
    tally.add(ended({ channel: "new-1" }), T0 + 1, false);
    tally.add(ended({ channel: "new-2" }), T0 + 2, false);
    tally.add(ended({ channel: "c0" }), T0 + 3, false);
    expect(tally.size).to.equal(REFUSAL_KEYS_PER_MINUTE + 1);
    const pending = tally.pending();
    expect(pending.find((c) => c.channel === OTHER_CHANNEL)?.count).to.equal(2);
    expect(pending.find((c) => c.channel === "live/c0")?.count).to.equal(2);
    tally.add(ended({ channel: "new-3" }), T0 + MINUTE, false);
    expect(tally.pending().at(-1)).to.include({ channel: "live/new-3", minute: T0 + MINUTE });
  });

  it("clear forgets the waiting counters", () => {
    const tally = new RefusalTally();
    tally.add(ended(), T0, false);
    tally.clear();
    expect(tally.size).to.equal(0);
    expect(tally.pending()).to.deep.equal([]);
  });
});
