import { expect } from "chai";
import { classifyFlvRequest } from "../../plugin/src/hosts/nms4/flv-request-target.js";
import { loggableInput } from "../../plugin/src/gate/loggable-input.js";
import { rtmpCommandProblem } from "../../plugin/src/hosts/nms4/rtmp-command-check.js";

describe("input shield rules", () => {
  const state = () => ({ connected: true, streamCommand: undefined });

  it("accept what ffmpeg and Flash players send", () => {
    const ffmpegConnect = {
      cmd: "connect",
      transId: 1,
      cmdObj: { app: "live", type: "nonprivate", flashVer: "FMLE/3.0 (compatible; Lavf59.27.100)", tcUrl: "rtmp://127.0.0.1:1935/live" },
    };
    expect(rtmpCommandProblem(ffmpegConnect, { connected: false, streamCommand: undefined })).to.equal(null);
    expect(
      rtmpCommandProblem(
        { cmd: "connect", transId: 1, cmdObj: { app: "live", tcUrl: "rtmps://example.com/live", objectEncoding: 3 } },
        { connected: false, streamCommand: undefined },
      ),
    ).to.equal(null);
    expect(
      rtmpCommandProblem({ cmd: "play", transId: 4, cmdObj: null, streamName: "test?token=abc&x=%20", start: -2000 }, state()),
    ).to.equal(null);
    expect(rtmpCommandProblem({ cmd: "publish", transId: 5, cmdObj: null, streamName: "test", type: "live" }, state())).to.equal(null);
    expect(rtmpCommandProblem({ cmd: "FCPublish", transId: 3, cmdObj: null, streamName: "test?token=abc" }, state())).to.equal(null);
  });

  it("classify FLV request targets the way NMS's routes see them", () => {
    expect(classifyFlvRequest("/live/test.flv?token=a", "http")).to.deep.equal({ kind: "flv" });
    expect(classifyFlvRequest("/live/te%73t.flv", "http")).to.deep.equal({ kind: "flv" });
    expect(classifyFlvRequest("/static/vod/movie.flv", "http")).to.deep.equal({ kind: "other" });
    expect(classifyFlvRequest("/live/test/index.m3u8", "http")).to.deep.equal({ kind: "other" });
    expect(classifyFlvRequest("/live/test", "ws")).to.deep.equal({ kind: "flv" });
    expect(classifyFlvRequest("/live/test.flv?token=a", "ws")).to.deep.equal({ kind: "flv" });
    expect(classifyFlvRequest("/live/te%73t.flv", "ws")).to.include({ kind: "bad" }); // NMS does not decode WS paths
  });

  it("describe a refused value without repeating it", () => {
    expect(loggableInput("test?token=secret-value")).to.deep.equal({ type: "string", length: 23, prefix: "test" });
    expect(loggableInput("rtmp://user:s3cr3tPw@host/live")).to.deep.equal({ type: "string", length: 30, prefix: "rtmp" });
    expect(loggableInput("a\r\nX-Evil: 1")).to.deep.equal({ type: "string", length: 12, prefix: "a" });
    expect(loggableInput("x".repeat(100)).prefix).to.have.length(32);
    expect(loggableInput({ a: 1 })).to.deep.equal({ type: "object" });
    expect(loggableInput(null)).to.deep.equal({ type: "null" });
  });
});
