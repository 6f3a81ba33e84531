import { expect } from "chai";
import { allow, deny } from "../../plugin/src/core/decision.js";
import { createFakeMinistra, type FakeMinistra } from "../../samples/fake-ministra.js";
import { createFakeSmarty, type FakeSmarty } from "../../samples/fake-smarty.js";
import { createFakeIptvportal } from "../../samples/fake-iptvportal.js";
import type { FakeBackend } from "../../samples/fake-backend-kit.js";
import { authRequest } from "../helpers/viewer-request.js";
import { backendStep, type BackendStepHarness } from "../helpers/backend-step.js";
import { answer, startStubBackend, type StubBackend } from "../helpers/stub-backend.js";
import { recheckOf } from "../../plugin/src/core/auth-request.js";

describe("Flussonic-style backends against the sample fakes", () => {
  let harness: BackendStepHarness | undefined;
  afterEach(async () => {
    await harness?.step.close?.();
    harness = undefined;
  });

  describe("ministra", () => {
    let fake: FakeMinistra;
    let base: string;
    before(async () => {
      fake = createFakeMinistra();
      base = await fake.listen();
    });
    after(async () => fake.close());
    beforeEach(() => (fake.calls.length = 0));

    it("asks <address>/server/api/chk_flussonic_tmp_link.php with every Flussonic parameter", async () => {
      harness = backendStep({ type: "ministra", address: `${base}/stalker_portal/` });
      const playing = harness.openSession("a001");
      harness.registry.admit(playing, { identity: undefined, request: undefined });
      harness.registry.admit(harness.openSession("other"), { identity: undefined, request: undefined });
      const token = fake.issue("stb-42");
      const request = authRequest({ query: `token=${token}&lang=en`, protocol: "rtmp", path: "/live/a001" });
      expect(await harness.step.decide(request)).to.deep.equal(allow("backend answered 200", { userId: "stb-42", maxSessions: 1 }, 36000));
      const [call] = fake.calls;
      expect(call!.path).to.equal("/stalker_portal/server/api/chk_flussonic_tmp_link.php");
      expect(Object.fromEntries(call!.params)).to.deep.equal({
        name: "a001",
        proto: "rtmp",
        ip: "203.0.113.7",
        token,
        session_id: request.sessionId,
        request_type: "new_session",
        request_number: "1",
        stream_clients: "1",
        total_clients: "2",
        qs: `token=${token}&lang=en`,
        user_agent: "VLC/3.0.20 LibVLC/3.0.20",
      });
    });

    it("maps our protocols to Flussonic's proto: rtmp, flv, ws, hls", async () => {
      harness = backendStep({ type: "ministra", address: `${base}/stalker_portal` });
      for (const protocol of ["rtmp", "http-flv", "ws-flv", "hls"] as const)
        await harness.step.decide(authRequest({ protocol, query: "token=x" }));
      expect(fake.calls.map((c) => c.params.get("proto"))).to.deep.equal(["rtmp", "flv", "ws", "hls"]);
    });

    it("denies an unknown token (403, empty body)", async () => {
      harness = backendStep({ type: "ministra", address: `${base}/stalker_portal` });
      expect(await harness.step.decide(authRequest({ query: "token=00000000000000000000000000000000" }))).to.deep.equal(
        deny("backend answered 403"),
      );
    });

    it("a re-check inside X-AuthDuration keeps the grant without re-sending the dead token", async () => {
      let now = Date.now();
      const shortLived = createFakeMinistra({ now: () => now });
      const shortBase = await shortLived.listen();
      try {
        harness = backendStep({ type: "ministra", address: `${shortBase}/stalker_portal`, recheckMaxSec: 2 });
        const session = harness.openSession();
        const request = authRequest({ sessionId: session.id, query: `token=${shortLived.issue()}` });
        expect((await harness.step.decide(request)).verdict).to.equal("allow");
        now += 6000; // the token is dead in Ministra now
        harness.clock.advance(6000);
        const kept = await harness.step.decide(recheckOf(request));
        expect(kept).to.deep.equal(allow("backend grant kept (X-AuthDuration, 35994 s left)", { userId: "stb-1", maxSessions: 1 }, 2));
        expect(shortLived.calls).to.have.length(1);
      } finally {
        await shortLived.close();
      }
    });

    it("with recheckAsksBackend: true the re-check sends update_session — and Ministra refuses the dead token", async () => {
      let now = Date.now();
      const shortLived = createFakeMinistra({ now: () => now });
      const shortBase = await shortLived.listen();
      try {
        harness = backendStep({ type: "ministra", address: `${shortBase}/stalker_portal`, recheckAsksBackend: true });
        const session = harness.openSession();
        const request = authRequest({ sessionId: session.id, query: `token=${shortLived.issue()}` });
        await harness.step.decide(request);
        now += 6000;
        expect((await harness.step.decide(recheckOf(request))).verdict).to.equal("deny");
        expect(shortLived.calls.map((c) => [c.params.get("request_type"), c.params.get("request_number")])).to.deep.equal([
          ["new_session", "1"],
          ["update_session", "2"],
        ]);
      } finally {
        await shortLived.close();
      }
    });
  });

  describe("smarty", () => {
    let fake: FakeSmarty;
    let base: string;
    before(async () => {
      fake = createFakeSmarty();
      base = await fake.listen();
    });
    after(async () => fake.close());

    it("allows only on 200 with JSON error 0, and logs the error code as the deny reason", async () => {
      harness = backendStep({ type: "smarty", address: base });
      const good = fake.issue("a001", "203.0.113.7");
      expect(await harness.step.decide(authRequest({ query: `token=${good}` }))).to.deep.equal(
        allow("smarty error 0 (valid)", undefined, 30),
      );
      expect(fake.calls.at(-1)!.path).to.equal("/tvmiddleware/api/streamservice/token/check/");
      expect(await harness.step.decide(authRequest({ query: "token=nope" }))).to.deep.equal(
        deny("backend answered 200: smarty error 1 (token expired)"),
      );
      expect(await harness.step.decide(authRequest({ query: `token=${good}`, channel: "a002" }))).to.deep.equal(
        deny("backend answered 200: smarty error 2 (token issued for other content)"),
      );
      expect(await harness.step.decide(authRequest({ query: `token=${good}`, ip: "198.51.100.1" }))).to.deep.equal(
        deny("backend answered 200: smarty error 3 (token issued for another IP)"),
      );
    });

    it("a 200 without a JSON error code denies; a body over 64 KiB is an unusable answer", async () => {
      const stub = await startStubBackend();
      try {
        harness = backendStep({ type: "smarty", address: stub.base });
        stub.respond = (_req, res) => res.end("<html>ok</html>");
        expect(await harness.step.decide(authRequest({ query: "token=a" }))).to.deep.equal(
          deny("backend answered 200: no JSON error code in the body"),
        );
        stub.respond = (_req, res) => res.end(JSON.stringify({ error: 0, pad: "x".repeat(70_000) }));
        const verdict = await harness.step.decide(authRequest({ query: "token=b" }));
        expect(verdict).to.deep.equal(
          deny(
            `auth backend ${stub.base}/tvmiddleware/api/streamservice/token/check/ sent an unusable answer: body larger than 65536 bytes`,
          ),
        );
      } finally {
        await stub.close();
      }
    });

    it("re-checks ask again with request_type=update_session", async () => {
      harness = backendStep({ type: "smarty", address: base });
      const session = harness.openSession();
      const request = authRequest({ sessionId: session.id, query: `token=${fake.issue("a001")}` });
      await harness.step.decide(request);
      expect((await harness.step.decide(recheckOf(request))).verdict).to.equal("allow");
      expect(fake.calls.at(-1)!.params.get("request_type")).to.equal("update_session");
    });
  });

  describe("iptvportal", () => {
    let fake: FakeBackend;
    let base: string;
    before(async () => {
      fake = createFakeIptvportal({ tokens: { abc: { userId: "sub-9", channels: ["a001"] } } });
      base = await fake.listen();
    });
    after(async () => fake.close());

    it("forwards the Flussonic parameters, then the viewer's own ones, to <address>/auth/arescrypt/", async () => {
      harness = backendStep({ type: "iptvportal", address: base });
      const verdict = await harness.step.decide(authRequest({ query: "key=K1%2F2&token=abc&ip=1.2.3.4" }));
      expect(verdict).to.deep.equal(allow("backend answered 200", { userId: "sub-9" }, 600));
      const call = fake.calls[0]!;
      expect(call.path).to.equal("/auth/arescrypt/");
      // Ours first (the viewer's raw query used to come first, and a raw # in it cut ours off).
      expect([...call.params.keys()].slice(0, 3)).to.deep.equal(["name", "proto", "ip"]);
      expect([...call.params.keys()].at(-1)).to.equal("key");
      expect(call.params.get("key")).to.equal("K1/2");
      expect(call.params.getAll("ip")).to.deep.equal(["203.0.113.7"]);
      expect(await harness.step.decide(authRequest({ query: "token=abc", channel: "a002" }))).to.deep.equal(deny("backend answered 403"));
    });

    it("a 302 with Location denies with that redirect", async () => {
      const stub = await startStubBackend();
      try {
        harness = backendStep({ type: "iptvportal", address: stub.base, checkPath: "/auth/flussonic/arescrypt/" });
        stub.respond = answer(302, { Location: "http://promo.example/a.flv" });
        expect(await harness.step.decide(authRequest())).to.deep.equal(deny("backend answered 302", "http://promo.example/a.flv"));
        expect(stub.calls[0]!.rawUrl).to.match(/^\/auth\/flussonic\/arescrypt\/\?name=a001&proto=flv&.*&token=123&/);
      } finally {
        await stub.close();
      }
    });
  });

  describe("a viewer's query cannot change the name, ip or token the backend sees", () => {
    let stub: StubBackend;
    before(async () => (stub = await startStubBackend()));
    after(async () => stub.close());
    beforeEach(() => {
      stub.calls.length = 0;
      stub.respond = answer(403);
    });

    const hostile = [
      "token=abc#&name=evil&ip=1.2.3.4&token=evil",
      "token=abc&name=evil",
      "token=abc&ip=1.2.3.4",
      "name=evil&ip=1.2.3.4&token=abc",
      "token=abc%23&name%3Devil=1&NAME=evil&Ip=1.2.3.4&name[]=evil&na%6De=evil& name=evil&request.type=update_session&session_id=evil&qs=evil&referer=evil",
      "token=abc&%23=1&x=%0d%0aName: evil",
    ];

    for (const type of ["ministra", "smarty", "iptvportal"] as const) {
      it(`${type}: name, ip and token are ours, once, whatever the query; every viewer byte arrives percent-encoded`, async () => {
        harness = backendStep({ type, address: stub.base, denyTtlSec: 0 });
        for (const query of hostile) {
          stub.calls.length = 0;
          const request = authRequest({ query });
          expect((await harness.step.decide(request)).verdict, query).to.equal("deny");
          expect(stub.calls, query).to.have.length(1);
          const rawUrl = stub.calls[0]!.rawUrl;
          expect(rawUrl, "no raw # or line break on the wire").to.match(/^[\x21-\x22\x24-\x7e]+$/);
          const seen = new URLSearchParams(rawUrl.slice(rawUrl.indexOf("?") + 1));
          // First-wins (URLSearchParams, Go) and last-wins (PHP) readers both get our values.
          expect(seen.getAll("name"), query).to.deep.equal(["a001"]);
          expect(seen.getAll("ip"), query).to.deep.equal(["203.0.113.7"]);
          expect(seen.getAll("token"), query).to.deep.equal([request.params.get("token") ?? ""]);
          expect(seen.getAll("session_id"), query).to.deep.equal([request.sessionId]);
          expect(seen.getAll("request_type"), query).to.deep.equal(["new_session"]);
          expect(seen.getAll("qs"), "the viewer's whole query still reaches the backend, encoded").to.deep.equal([query]);
          // No other parameter a PHP, ASP.NET or Java backend could read as one of ours.
          const lookalikes = [...seen.keys()].filter((k) =>
            /^\s*(name|ip|token|proto|session_id|request_type|request_number|qs|user_agent|referer)(\[.*)?$/i.test(k.replace(/[. ]/g, "_")),
          );
          expect(lookalikes.sort(), query).to.deep.equal([
            "ip",
            "name",
            "proto",
            "qs",
            "request_number",
            "request_type",
            "session_id",
            "token",
            "user_agent",
          ]);
        }
      });
    }

    it("iptvportal still forwards the viewer's other parameters, after ours, decoded as the viewer meant them", async () => {
      harness = backendStep({ type: "iptvportal", address: stub.base });
      await harness.step.decide(authRequest({ query: "token=abc&key=K1%2F2%23x&sig=a+b&name=evil" }));
      const rawUrl = stub.calls[0]!.rawUrl;
      const seen = new URLSearchParams(rawUrl.slice(rawUrl.indexOf("?") + 1));
      expect([...seen.keys()].slice(-2)).to.deep.equal(["key", "sig"]);
      expect(seen.get("key")).to.equal("K1/2#x");
      expect(seen.get("sig")).to.equal("a b");
    });
  });
});
