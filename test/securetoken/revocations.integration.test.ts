import { expect } from "chai";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { startPublishingNms, type NmsInstance } from "../helpers/nms-instance.js";
import { waitFor } from "../helpers/wait-for.js";
import { TEST_API_TOKEN } from "../helpers/api-tokens.js";

describe("revocations", () => {
  (hasFfmpeg ? describe : describe.skip)("in one process (real NMS, real API)", function () {
    this.timeout(60_000);
    const TOKEN = TEST_API_TOKEN;
    let nms: NmsInstance;
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`http://127.0.0.1:${nms.auth.api!.port}${path}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json()) as any };
    };
    before(async () => {
      nms = await startPublishingNms({ auth: { defaultAction: "allow" }, api: { enabled: true, port: 0, token: TOKEN } }, "live/rev");
      await nms.auth.ready;
    });
    after(async () => {
      await nms?.stop();
    });

    it("a revoked address stays refused (not only its sessions of the moment) until lifted", async () => {
      const url = `http://127.0.0.1:${nms.httpPort}/live/rev.flv`;
      const abort = new AbortController();
      const playing = httpGetFor(url, 30_000, { abortSignal: abort.signal });
      await waitFor("one viewer playing", () => (nms.auth.sessions.count({ state: "playing" }) === 1 ? true : undefined));
      expect((await api("POST", "/api/sessions/revoke", { ip: "not-an-ip" })).status).to.equal(400);
      expect((await api("POST", "/api/sessions/revoke", { ip: "127.0.0.1", ttlSec: 0 })).status).to.equal(400);
      const revoked = await api("POST", "/api/sessions/revoke", { ip: "127.0.0.1", ttlSec: 600 });
      expect(revoked.status).to.equal(200);
      expect(revoked.json.closed).to.have.length(1);
      const cut = await playing;
      expect(cut.bytes).to.be.above(0);
      const refused = await httpGetFor(url, 1000);
      expect(refused.status).to.equal(403);
      expect(refused.bytes).to.be.below(200);
      expect((await api("GET", "/api/revocations")).json.revocations).to.deep.include.members([
        { kind: "ip", ip: "127.0.0.1", until: revoked.json.until },
      ]);
      expect((await api("DELETE", "/api/revocations/ip/127.0.0.1")).status).to.equal(200);
      const again = await httpGetFor(url, 1000);
      expect(again.status).to.equal(200);
      expect(again.body.subarray(0, 3).toString()).to.equal("FLV");
      abort.abort();
    });
  });
});
