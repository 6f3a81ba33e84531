import { expect } from "chai";
import { hasFfmpeg, playWithFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor, wsReadFor } from "../helpers/flv-clients.js";
import { NMS_LINES, startLineNms, type LineNms } from "../helpers/nms-instance.js";

const STREAM = "lock";

// Each line reads RTMP's pageUrl and the HTTP headers through its own adapter (hosts/nms4, hosts/nms2).
for (const line of NMS_LINES) {
  describe(`origin lock on NMS ${line}: RTMP pageUrl, HTTP-FLV and WS-FLV Origin`, function () {
    this.timeout(90000);
    let nms: LineNms;

    before(async function () {
      if (!hasFfmpeg) this.skip();
      nms = await startLineNms(line, {
        auth: { defaultAction: "allow", originLock: { allow: ["*.example.com"], allowMissing: false } },
      });
      await nms.publishOnly(STREAM);
    });
    after(async () => nms?.stop());

    const lastDecision = () => nms.logs.events("auth.decision").at(-1)!;

    it("RTMP: an allowed pageUrl plays; a foreign one and none get 0 bytes", async () => {
      const url = `rtmp://127.0.0.1:${nms.rtmpPort}/live/${STREAM}`;
      const allowed = await playWithFfmpeg(url, { seconds: 1, inputOptions: ["-rtmp_pageurl", "https://www.example.com/tv"] });
      expect(allowed.stdoutBytes).to.be.greaterThan(1000);
      const foreign = await playWithFfmpeg(url, { seconds: 2, inputOptions: ["-rtmp_pageurl", "https://example.com.evil.net/tv"] });
      expect(foreign.stdoutBytes).to.equal(0);
      expect(lastDecision()).to.include({ protocol: "rtmp", step: "origin", code: "origin-not-allowed" });
      expect((await playWithFfmpeg(url, { seconds: 2 })).stdoutBytes).to.equal(0);
    });

    it("HTTP-FLV and WS-FLV: the Origin header decides", async () => {
      const flv = `http://127.0.0.1:${nms.httpPort}/live/${STREAM}.flv`;
      const allowed = await httpGetFor(flv, 1200, { headers: { origin: "https://player.example.com" } });
      expect(allowed.body.subarray(0, 3).toString()).to.equal("FLV");
      const foreign = await httpGetFor(flv, 800, { headers: { origin: "https://evil.example" } });
      expect(foreign.body.includes(Buffer.from("FLV")), "no FLV byte").to.equal(false);
      expect(lastDecision()).to.include({ protocol: "http-flv", step: "origin", code: "origin-not-allowed" });
      const ws = flv.replace("http:", "ws:");
      expect((await wsReadFor(ws, 1200, { headers: { origin: "https://player.example.com" } })).data.subarray(0, 3).toString()).to.equal(
        "FLV",
      );
      expect((await wsReadFor(ws, 800, { headers: { origin: "https://evil.example" } })).bytes).to.equal(0);
      expect(lastDecision()).to.include({ protocol: "ws-flv", step: "origin", code: "origin-not-allowed" });
    });
  });
}
