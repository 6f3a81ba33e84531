import { expect } from "chai";
import type { InputProblem } from "../../plugin/src/gate/input-problem.js";
import {
  controlMessageProblem,
  RTMP_MESSAGE_LIMITS,
  rtmpMessageProblem,
  type RtmpMessageStart,
} from "../../plugin/src/hosts/nms4/rtmp-message-limits.js";

const KIB = 1024;
const MIB = 1024 * KIB;
const viewer = (type: number, length: number, streamCapacity = 0, connectionCapacity = 0): RtmpMessageStart => ({
  type,
  length,
  publishing: false,
  streamCapacity,
  connectionCapacity,
});
const publisher = (type: number, length: number, streamCapacity = 0, connectionCapacity = 0): RtmpMessageStart => ({
  type,
  length,
  publishing: true,
  streamCapacity,
  connectionCapacity,
});

describe("rtmp-message-limits: bounds on the RTMP chunk stream before NMS allocates", () => {
  it("states the bounds it enforces", () => {
    expect(RTMP_MESSAGE_LIMITS).to.deep.equal({
      chunkStreams: 64,
      nonMediaMessageBytes: 64 * KIB,
      viewerBufferBytes: 256 * KIB,
      publisherBufferBytes: 32 * MIB,
      minChunkBytes: 1,
      maxChunkBytes: 0xffffff,
    });
  });

  describe("rtmpMessageProblem refuses", () => {
    const cases: [string, RtmpMessageStart, InputProblem][] = [
      ...[8, 9, 15, 18, 22].map((type): [string, RtmpMessageStart, InputProblem] => [
        `media type ${type} from a viewer`,
        viewer(type, 100),
        { field: "message.type", reason: "media from a connection that is not publishing", value: type },
      ]),
      [
        "a command one byte over 64 KiB",
        viewer(20, 64 * KIB + 1),
        { field: "message.length", reason: "non-media message over 65536 bytes", value: 64 * KIB + 1 },
      ],
      [
        "a publisher's command announced at 16 MiB",
        publisher(20, 16 * MIB),
        { field: "message.length", reason: "non-media message over 65536 bytes", value: 16 * MIB },
      ],
      // 64 KiB + NMS's 1 KiB slack on top of what the viewer's other chunk streams hold.
      [
        "a viewer's buffers over 256 KiB together",
        viewer(20, 64 * KIB, 0, 256 * KIB - 64 * KIB - KIB + 1),
        { field: "message.length", reason: "message buffers over 262144 bytes for one connection", value: 64 * KIB },
      ],
      [
        "a publisher's buffers over 32 MiB together",
        publisher(9, 16 * MIB, 0, 16 * MIB),
        { field: "message.length", reason: "message buffers over 33554432 bytes for one connection", value: 16 * MIB },
      ],
    ];
    for (const [name, message, problem] of cases) {
      it(name, () => {
        expect(rtmpMessageProblem(message)).to.deep.equal(problem);
      });
    }
  });

  describe("rtmpMessageProblem allows", () => {
    const cases: [string, RtmpMessageStart][] = [
      ["a command of exactly 64 KiB", viewer(20, 64 * KIB)],
      ["a viewer's buffers at exactly 256 KiB together", viewer(20, 64 * KIB, 0, 256 * KIB - 64 * KIB - KIB)],
      ["a message that fits the buffer its chunk stream already has (no growth)", viewer(20, 1000, 2000, 256 * KIB)],
      ["a 16 MiB keyframe from a publisher", publisher(9, 16 * MIB)],
      ["a publisher's buffers at exactly 32 MiB together", publisher(9, 16 * MIB, 0, 16 * MIB - KIB)],
      ["audio from a publisher", publisher(8, 500)],
    ];
    for (const [name, message] of cases) {
      it(name, () => {
        expect(rtmpMessageProblem(message)).to.equal(null);
      });
    }
  });

  describe("controlMessageProblem", () => {
    const cases: [string, [number, number, number | undefined], InputProblem | null][] = [
      ["a set-chunk-size shorter than 4 bytes", [1, 3, undefined], { field: "setChunkSize", reason: "shorter than 4 bytes", value: 3 }],
      ["a window-ack-size shorter than 4 bytes", [5, 2, undefined], { field: "windowAckSize", reason: "shorter than 4 bytes", value: 2 }],
      ["a chunk size of 0", [1, 4, 0], { field: "setChunkSize", reason: "outside 1..16777215", value: 0 }],
      ["a chunk size over 0xffffff", [1, 4, 0x1000000], { field: "setChunkSize", reason: "outside 1..16777215", value: 0x1000000 }],
      ["a chunk size of 1", [1, 4, 1], null],
      ["a chunk size of 0xffffff", [1, 4, 0xffffff], null],
      ["a chunk size of 4096 in a longer message", [1, 8, 4096], null],
      ["any 32-bit window-ack-size", [5, 4, 0xffffffff], null],
    ];
    for (const [name, [type, length, value], problem] of cases) {
      it(name, () => {
        expect(controlMessageProblem(type, length, value)).to.deep.equal(problem);
      });
    }
  });
});
