import { expect } from "chai";
import { startNms, type NmsInstance } from "../helpers/nms-instance.js";
import { httpGetFor, wsReadFor } from "../helpers/flv-clients.js";
import { ScriptedAuthorizer } from "../helpers/scripted-authorizer.js";
import { sleep } from "../helpers/sleep.js";

describe("session limits and re-checks through the real NMS gate", function () {
  this.timeout(30000);
  const step = new ScriptedAuthorizer();
  let nms: NmsInstance;
  const flv = (name: string) => `http://127.0.0.1:${nms.httpPort}/live/${name}.flv`;
  const ws = (name: string) => `ws://127.0.0.1:${nms.httpPort}/live/${name}.flv`;

  describe("policy reject-new", () => {
    before(async () => (nms = await startNms({ sessions: { limitPolicy: "reject-new", recheckIntervalSec: 0 } }, { authorizers: [step] })));
    after(async () => nms?.stop());

    it("refuses a user's session past the limit, across protocols", async () => {
      step.verdict = { verdict: "allow", reason: "ok", user: { userId: "u1", maxSessions: 1 } };
      const first = httpGetFor(flv("limits"), 1500);
      await sleep(300);
      const second = await wsReadFor(ws("limits"), 1000);
      expect(second.closeCode).to.equal(4403);
      expect(second.bytes).to.equal(0);
      expect((await first).status).to.equal(200);
      const refused = nms.logs.events("session.limit_refused").at(-1);
      expect(refused?.reason).to.equal("user u1 is at the limit of 1 session(s)");
    });
  });

  describe("caps per address and per channel", () => {
    before(
      async () => (nms = await startNms({ sessions: { maxPerIp: 2, maxPerChannel: 3, recheckIntervalSec: 0 } }, { authorizers: [step] })),
    );
    after(async () => nms?.stop());

    it("refuses a third session from one address across protocols; other addresses still play until the channel cap", async () => {
      step.verdict = { verdict: "allow", reason: "ok" };
      const a = httpGetFor(flv("caps"), 2500);
      const b = wsReadFor(ws("caps"), 2500);
      await sleep(300);
      const third = await httpGetFor(flv("caps"), 500);
      expect(third.status).to.equal(403);
      expect(nms.logs.events("session.limit_refused").at(-1)?.reason).to.equal("address 127.0.0.1 is at the limit of 2 session(s)");
      const other = httpGetFor(flv("caps"), 2000, { localAddress: "127.0.0.2" });
      await sleep(300);
      const overChannel = await httpGetFor(flv("caps"), 500, { localAddress: "127.0.0.3" });
      expect(overChannel.status).to.equal(403);
      expect(nms.logs.events("session.limit_refused").at(-1)?.reason).to.equal("channel live/caps is at the limit of 3 session(s)");
      expect((await other).status).to.equal(200);
      expect((await a).status).to.equal(200);
      expect((await b).bytes).to.be.greaterThan(0);
    });
  });

  describe("policy close-oldest, and re-checks", () => {
    before(
      async () => (nms = await startNms({ sessions: { limitPolicy: "close-oldest", recheckIntervalSec: 0 } }, { authorizers: [step] })),
    );
    after(async () => nms?.stop());

    it("closes the user's oldest session to admit the newcomer", async () => {
      step.verdict = { verdict: "allow", reason: "ok", user: { userId: "u2", maxSessions: 1 } };
      const started = Date.now();
      const first = httpGetFor(flv("oldest"), 5000);
      await sleep(300);
      const second = httpGetFor(flv("oldest"), 1000);
      const firstResult = await first;
      expect(firstResult.status).to.equal(200);
      expect(Date.now() - started, "first viewer cut off early").to.be.lessThan(2500);
      expect((await second).status).to.equal(200);
      const ends = nms.logs.events("session.end").map((l) => l.session as Record<string, unknown>);
      expect(ends.some((s) => s.reason === "limit")).to.equal(true);
    });

    it("re-checks a session when its verdict's TTL runs out, and a deny closes it", async () => {
      step.verdict = { verdict: "allow", reason: "ok", ttlSec: 1 };
      const viewer = httpGetFor(flv("recheck"), 6000);
      await sleep(300);
      step.verdict = { verdict: "deny", reason: "subscription ended" };
      const started = Date.now();
      const result = await viewer;
      expect(result.status).to.equal(200);
      expect(Date.now() - started).to.be.lessThan(3000);
      const recheck = step.seen.at(-1)!;
      expect(recheck).to.include({ purpose: "recheck", requestNumber: 2 });
      const ended = nms.logs
        .events("session.end")
        .map((l) => l.session as Record<string, unknown>)
        .at(-1);
      expect(ended).to.include({ reason: "denied-on-recheck" });
    });
  });
});
