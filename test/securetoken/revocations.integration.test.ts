import { expect } from "chai";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { startPublishingNms, type NmsInstance } from "../helpers/nms-instance.js";
import { waitFor } from "../helpers/wait-for.js";
import { TEST_API_TOKEN } from "../helpers/api-tokens.js";
import { apiFetch } from "../helpers/openapi-check.js";

describe("revocations", () => {
  (hasFfmpeg ? describe : describe.skip)("in one process (real NMS, real API)", function () {
    this.timeout(60_000);
    const TOKEN = TEST_API_TOKEN;
    let nms: NmsInstance;
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await apiFetch(`http://127.0.0.1:${nms.auth.api!.port}${path}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, location: res.headers.get("location"), json: (await res.json()) as any };
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

    it("POST /api/revocations makes one as a resource: 201, its Location lifts it; POST /api/sessions/revoke still answers as before", async () => {
      const url = (token: string) => `http://127.0.0.1:${nms.httpPort}/live/rev.flv?token=${token}`;
      const abort = new AbortController();
      const playing = httpGetFor(url("rev-resource-token-1"), 30_000, { abortSignal: abort.signal });
      await waitFor("one viewer playing", () => (nms.auth.sessions.count({ state: "playing" }) === 1 ? true : undefined));
      expect((await api("POST", "/api/revocations", { token: "rev-resource-token-1", ttlSec: 0 })).json.code).to.equal(
        "VA_API_BAD_REQUEST",
      );
      const made = await api("POST", "/api/revocations", { token: "rev-resource-token-1", ttlSec: 600 });
      expect(made.status).to.equal(201);
      expect(made.json.kind).to.equal("token");
      expect(made.json.tokenDigest).to.be.a("string").and.not.include("rev-resource-token-1");
      expect(made.json.closed).to.have.length(1);
      expect(made.location).to.equal(`/api/revocations/token-digest/${made.json.tokenDigest}`);
      expect(made.json.location).to.equal(made.location);
      expect((await playing).bytes).to.be.above(0);
      expect((await httpGetFor(url("rev-resource-token-1"), 1000)).status).to.equal(403);
      expect((await api("GET", "/api/revocations")).json.revocations).to.deep.include.members([
        { kind: "token", tokenDigest: made.json.tokenDigest, until: made.json.until },
      ]);
      expect((await api("DELETE", made.location!)).status).to.equal(200);
      expect((await httpGetFor(url("rev-resource-token-1"), 1000)).status).to.equal(200);
      abort.abort();

      const alias = await api("POST", "/api/sessions/revoke", { user: "someone", ttlSec: 60 });
      expect(alias.status).to.equal(200);
      expect(alias.location).to.equal(null);
      expect(Object.keys(alias.json).sort()).to.deep.equal(["closed", "until"]);
      const user = await api("POST", "/api/revocations", { user: "some one/x", ttlSec: 60 });
      expect(user.status).to.equal(201);
      expect(user.json).to.include({ kind: "user", user: "some one/x" });
      expect(user.location).to.equal("/api/revocations/user/some%20one%2Fx");
      expect((await api("DELETE", user.location!)).status).to.equal(200);
      expect((await api("DELETE", "/api/revocations/user/someone")).status).to.equal(200);
    });
  });
});
