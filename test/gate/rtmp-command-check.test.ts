import { expect } from "chai";
import type { InputProblem } from "../../plugin/src/gate/input-problem.js";
import { rtmpCommandProblem, type DecodedRtmpCommand, type RtmpCommandState } from "../../plugin/src/hosts/nms4/rtmp-command-check.js";

const FRESH: RtmpCommandState = { connected: false, streamCommand: undefined };
const CONNECTED: RtmpCommandState = { connected: true, streamCommand: undefined };
const PLAYING: RtmpCommandState = { connected: true, streamCommand: "play" };
const GOOD_CONNECT = { app: "live", tcUrl: "rtmp://127.0.0.1:1935/live", flashVer: "FMLE/3.0 (compatible; FMSc/1.0)", objectEncoding: 0 };
const connect = (cmdObj: unknown): DecodedRtmpCommand => ({ cmd: "connect", transId: 1, cmdObj });
const play = (streamName: unknown): DecodedRtmpCommand => ({ cmd: "play", transId: 4, streamName });

describe("rtmpCommandProblem: RTMP commands NMS 4.4.3 may act on", () => {
  describe("refused, with the field and the reason", () => {
    const cases: [string, DecodedRtmpCommand, RtmpCommandState, InputProblem][] = [
      ["a command name that is not a string", { cmd: 7 }, FRESH, { field: "command", reason: "name is not a string", value: 7 }],
      [
        "a transaction id that is a string",
        { cmd: "connect", transId: "1", cmdObj: GOOD_CONNECT },
        FRESH,
        { field: "command.transId", reason: "not a number", value: "1" },
      ],
      ["a second connect", connect(GOOD_CONNECT), CONNECTED, { field: "connect", reason: "second connect on one connection" }],
      ["a command object that is null", connect(null), FRESH, { field: "connect.cmdObj", reason: "not an object", value: null }],
      [
        "a command object that is an array",
        connect(["live"]),
        FRESH,
        { field: "connect.cmdObj", reason: "not an object", value: ["live"] },
      ],
      ["a command object that is a string", connect("live"), FRESH, { field: "connect.cmdObj", reason: "not an object", value: "live" }],
      ["no app", connect({ tcUrl: GOOD_CONNECT.tcUrl }), FRESH, { field: "connect.app", reason: "not a string", value: undefined }],
      ["an empty app", connect({ ...GOOD_CONNECT, app: "" }), FRESH, { field: "connect.app", reason: "empty", value: "" }],
      [
        "an app with a slash",
        connect({ ...GOOD_CONNECT, app: "live/x" }),
        FRESH,
        { field: "connect.app", reason: "has characters other than A-Z a-z 0-9 _ -", value: "live/x" },
      ],
      [
        "an app over 128 characters",
        connect({ ...GOOD_CONNECT, app: "a".repeat(129) }),
        FRESH,
        { field: "connect.app", reason: "longer than 128 characters", value: "a".repeat(129) },
      ],
      [
        "a tcUrl that is a number",
        connect({ ...GOOD_CONNECT, tcUrl: 5 }),
        FRESH,
        { field: "connect.tcUrl", reason: "not a string", value: 5 },
      ],
      [
        "a tcUrl that is not a URL",
        connect({ ...GOOD_CONNECT, tcUrl: "nothing" }),
        FRESH,
        { field: "connect.tcUrl", reason: "not a URL", value: "nothing" },
      ],
      [
        "an http tcUrl",
        connect({ ...GOOD_CONNECT, tcUrl: "http://h/live" }),
        FRESH,
        { field: "connect.tcUrl", reason: "not an rtmp or rtmps URL", value: "http://h/live" },
      ],
      [
        "a tcUrl with a non-ASCII character",
        connect({ ...GOOD_CONNECT, tcUrl: "rtmp://hé/live" }),
        FRESH,
        { field: "connect.tcUrl", reason: "has characters other than printable ASCII", value: "rtmp://hé/live" },
      ],
      [
        "a tcUrl over 1024 characters",
        connect({ ...GOOD_CONNECT, tcUrl: `rtmp://h/${"a".repeat(1020)}` }),
        FRESH,
        { field: "connect.tcUrl", reason: "longer than 1024 characters", value: `rtmp://h/${"a".repeat(1020)}` },
      ],
      [
        "a flashVer that is an object",
        connect({ ...GOOD_CONNECT, flashVer: { a: 1 } }),
        FRESH,
        { field: "connect.flashVer", reason: "not a string", value: { a: 1 } },
      ],
      [
        "a flashVer with a control character",
        connect({ ...GOOD_CONNECT, flashVer: "a\u0007b" }),
        FRESH,
        { field: "connect.flashVer", reason: "has characters other than printable ASCII", value: "a\u0007b" },
      ],
      [
        "a flashVer over 256 characters",
        connect({ ...GOOD_CONNECT, flashVer: "u".repeat(257) }),
        FRESH,
        { field: "connect.flashVer", reason: "longer than 256 characters", value: "u".repeat(257) },
      ],
      [
        "an objectEncoding that is a string",
        connect({ ...GOOD_CONNECT, objectEncoding: "0" }),
        FRESH,
        { field: "connect.objectEncoding", reason: "not a number", value: "0" },
      ],
      ["a play before connect", play("test"), FRESH, { field: "command", reason: "command before connect", value: "play" }],
      [
        "a createStream before connect",
        { cmd: "createStream", transId: 2 },
        FRESH,
        { field: "command", reason: "command before connect", value: "createStream" },
      ],
      ["a second play", play("test"), PLAYING, { field: "play", reason: "second play or publish on one connection" }],
      [
        "a publish after a play",
        { cmd: "publish", streamName: "test" },
        PLAYING,
        { field: "publish", reason: "second play or publish on one connection" },
      ],
      [
        "a stream name that is not a string",
        play(undefined),
        CONNECTED,
        { field: "play.streamName", reason: "not a string", value: undefined },
      ],
      ["an empty stream name", play("?token=x"), CONNECTED, { field: "play.streamName", reason: "name empty", value: "?token=x" }],
      [
        "a stream name with a dot",
        play("a.b"),
        CONNECTED,
        { field: "play.streamName", reason: "name has characters other than A-Z a-z 0-9 _ -", value: "a.b" },
      ],
      [
        "a stream name over 1024 characters",
        play("n".repeat(1025)),
        CONNECTED,
        { field: "play.streamName", reason: "name longer than 1024 characters", value: "n".repeat(1025) },
      ],
      [
        "a query over 8192 characters",
        play(`test?${"q".repeat(8193)}`),
        CONNECTED,
        { field: "play.streamName", reason: "query longer than 8192 characters", value: `test?${"q".repeat(8193)}` },
      ],
      [
        "a query with a control character",
        { cmd: "publish", streamName: "test?a=\n" },
        CONNECTED,
        { field: "publish.streamName", reason: "query has control characters", value: "test?a=\n" },
      ],
    ];
    for (const [name, command, state, problem] of cases) {
      it(name, () => {
        expect(rtmpCommandProblem(command, state)).to.deep.equal(problem);
      });
    }
  });

  describe("allowed", () => {
    const cases: [string, DecodedRtmpCommand, RtmpCommandState][] = [
      ["a connect as ffmpeg sends it", connect(GOOD_CONNECT), FRESH],
      ["a connect without flashVer or objectEncoding, over rtmps", connect({ app: "live", tcUrl: "rtmps://h/live" }), FRESH],
      [
        "a connect with a null objectEncoding and no transaction id",
        { cmd: "connect", cmdObj: { ...GOOD_CONNECT, objectEncoding: null } },
        FRESH,
      ],
      ["a connect with the largest app and tcUrl", connect({ app: "a".repeat(128), tcUrl: `rtmp://h/${"a".repeat(1015)}` }), FRESH],
      ["a play with a signed query", play("test?token=a.b.c&expires=1"), CONNECTED],
      ["a play with the largest name and query", play(`${"n".repeat(1024)}?${"q".repeat(8192)}`), CONNECTED],
      ["a publish", { cmd: "publish", transId: 5, streamName: "cam_1-a" }, CONNECTED],
      ["a command the check does not judge, after a play", { cmd: "deleteStream", transId: 6 }, PLAYING],
    ];
    for (const [name, command, state] of cases) {
      it(name, () => {
        expect(rtmpCommandProblem(command, state)).to.equal(null);
      });
    }
  });
});
