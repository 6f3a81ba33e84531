import { expect } from "chai";
import { allow, deny } from "../../plugin/src/core/decision.js";
import { authRequest } from "../helpers/viewer-request.js";
import { backendStep, type BackendStepHarness } from "../helpers/backend-step.js";
import { answer, startStubBackend, type StubBackend } from "../helpers/stub-backend.js";

describe("backend step, http-request type, against a real node:http backend", () => {
  let backend: StubBackend;
  let harness: BackendStepHarness;
  const make = (extra: Record<string, unknown> = {}, path = "/check") =>
    (harness = backendStep({ type: "http-request", url: `${backend.base}${path}`, ...extra }));

  before(async () => (backend = await startStubBackend()));
  after(async () => backend.close());
  beforeEach(() => {
    backend.calls.length = 0;
    backend.respond = answer(200);
  });
  afterEach(async () => harness?.step.close?.());

  describe("the request (docs/protocols.md §2)", () => {
    it("GETs <url>?<viewer query verbatim> with exactly the seven headers, each with its value", async () => {
      make();
      const request = authRequest({ query: "b=2&a=%20x+y&token=123&a=1" });
      await harness.step.decide(request);
      expect(backend.calls).to.have.length(1);
      const call = backend.calls[0]!;
      expect(call.rawUrl).to.equal("/check?b=2&a=%20x+y&token=123&a=1");
      expect(call.headers["x-session-id"]).to.equal(request.sessionId);
      expect(call.headers["x-channel-id"]).to.equal("a001");
      expect(call.headers["x-real-ip"]).to.equal("203.0.113.7");
      expect(call.headers["x-real-path"]).to.equal("/live/a001.flv");
      expect(call.headers["x-real-ua"]).to.equal("VLC/3.0.20 LibVLC/3.0.20");
      expect(call.headers["x-real-host"]).to.equal("live.example.com:8443");
      expect(call.headers["x-real-origin"]).to.equal("https://live.example.com:8443");
      const ours = Object.keys(call.headers)
        .filter((h) => h.startsWith("x-"))
        .sort();
      expect(ours).to.deep.equal(["x-channel-id", "x-real-host", "x-real-ip", "x-real-origin", "x-real-path", "x-real-ua", "x-session-id"]);
    });

    it("appends the viewer query with & when the backend URL has a query, and sends the bare URL for an empty one", async () => {
      make({}, "/check?site=tv1");
      await harness.step.decide(authRequest({ query: "token=123" }));
      await harness.step.decide(authRequest({ query: "" }));
      expect(backend.calls.map((c) => c.rawUrl)).to.deep.equal(["/check?site=tv1&token=123", "/check?site=tv1"]);
    });
  });

  describe("the answer", () => {
    it("200 allows; X-Session-Name names the session; X-UserId/X-Max-Sessions/X-AuthDuration are read", async () => {
      make();
      backend.respond = answer(200, { "X-Session-Name": "alice", "X-UserId": "u-17", "X-Max-Sessions": "2", "X-AuthDuration": "120" });
      expect(await harness.step.decide(authRequest())).to.deep.equal(
        allow("backend answered 200", { name: "alice", userId: "u-17", maxSessions: 2 }, 120),
      );
    });

    it("an allow without X-AuthDuration holds allowTtlSec; X-Unique: true means one session", async () => {
      make({ allowTtlSec: 45 });
      backend.respond = answer(200, { "X-UserId": "u-1", "X-Unique": "true" });
      expect(await harness.step.decide(authRequest())).to.deep.equal(allow("backend answered 200", { userId: "u-1", maxSessions: 1 }, 45));
    });

    it("recheckMaxSec caps the re-check interval below X-AuthDuration", async () => {
      make({ recheckMaxSec: 10 });
      backend.respond = answer(200, { "X-AuthDuration": "36000" });
      expect(await harness.step.decide(authRequest())).to.deep.equal(allow("backend answered 200", undefined, 10));
    });

    it("403 denies; a deny with X-Location redirects; 401 and 404 deny too", async () => {
      make({ denyTtlSec: 0 });
      backend.respond = answer(403);
      expect(await harness.step.decide(authRequest())).to.deep.equal(deny("backend answered 403"));
      backend.respond = answer(403, { "X-Location": "http://promo.example/promo.flv" });
      expect(await harness.step.decide(authRequest())).to.deep.equal(deny("backend answered 403", "http://promo.example/promo.flv"));
      for (const status of [401, 404]) {
        backend.respond = answer(status);
        expect(await harness.step.decide(authRequest())).to.deep.equal(deny(`backend answered ${status}`));
      }
    });

    it("a 5xx denies a new session (it is not 'unreachable'), logged as backend.error_answer", async () => {
      make({ onUnreachable: "allow" });
      backend.respond = answer(503);
      expect(await harness.step.decide(authRequest())).to.deep.equal(deny("backend answered 503"));
      expect(harness.logs.events("backend.error_answer")).to.have.length(1);
    });
  });

  describe("cache and coalescing", () => {
    it("1,000 concurrent checks of one channel with one token make exactly 1 backend call", async () => {
      make();
      backend.respond = (req, res) => setTimeout(() => answer(200, { "X-Session-Name": "shared" })(req, res), 100);
      const verdicts = await Promise.all(Array.from({ length: 1000 }, () => harness.step.decide(authRequest())));
      expect(backend.calls).to.have.length(1);
      expect(verdicts.every((v) => v.verdict === "allow")).to.equal(true);
      // …and the next viewer is served from the cache.
      await harness.step.decide(authRequest());
      expect(backend.calls).to.have.length(1);
      expect(harness.step.counters?.(), "what /metrics reports as va_backend_cache_lookups_total").to.deep.equal({
        hits: 1,
        misses: 1,
        coalesced: 999,
      });
    });

    it("never merges checks that differ in what the backend sees: token, channel, IP, path, agent, host, origin", async () => {
      make();
      const variants = [
        {},
        { query: "token=124" },
        { channel: "a002" },
        { ip: "203.0.113.8" },
        { path: "/live/a001" },
        { userAgent: "other" },
        { host: "other.example" },
        { origin: "http://live.example.com" },
      ];
      await Promise.all(variants.map((v) => harness.step.decide(authRequest(v))));
      expect(backend.calls).to.have.length(variants.length);
      await Promise.all(variants.map((v) => harness.step.decide(authRequest(v))));
      expect(backend.calls, "second round all from cache").to.have.length(variants.length);
    });

    it("caches an allow for its X-AuthDuration and a deny for denyTtlSec only", async () => {
      make({ denyTtlSec: 5 });
      backend.respond = answer(200, { "X-AuthDuration": "60" });
      await harness.step.decide(authRequest({ query: "token=good" }));
      backend.respond = answer(403, { "X-AuthDuration": "60" });
      await harness.step.decide(authRequest({ query: "token=bad" }));
      expect(backend.calls).to.have.length(2);
      harness.clock.advance(5001);
      expect((await harness.step.decide(authRequest({ query: "token=good" }))).verdict).to.equal("allow");
      expect(backend.calls, "allow still cached").to.have.length(2);
      await harness.step.decide(authRequest({ query: "token=bad" }));
      expect(backend.calls, "deny expired after denyTtlSec").to.have.length(3);
      harness.clock.advance(55_000);
      backend.respond = answer(200);
      await harness.step.decide(authRequest({ query: "token=good" }));
      expect(backend.calls, "allow expired after X-AuthDuration").to.have.length(4);
    });

    it("a cached allow gives a later session only the time left on it", async () => {
      make();
      backend.respond = answer(200, { "X-AuthDuration": "60" });
      await harness.step.decide(authRequest());
      harness.clock.advance(20_000);
      expect(await harness.step.decide(authRequest())).to.deep.equal(allow("backend answered 200 (cache)", undefined, 40));
    });

    it("does not cache 5xx answers", async () => {
      make();
      backend.respond = answer(500);
      await harness.step.decide(authRequest());
      await harness.step.decide(authRequest());
      expect(backend.calls).to.have.length(2);
    });
  });

  describe("stale-if-error on re-check", () => {
    it("a re-checked session keeps its allow through 5xx for staleIfErrorSec past its expiry, then is denied", async () => {
      make({ staleIfErrorSec: 30, allowTtlSec: 10 });
      const session = harness.openSession();
      const first = authRequest({ sessionId: session.id });
      backend.respond = answer(200, { "X-Session-Name": "bob", "X-AuthDuration": "10" });
      expect((await harness.step.decide(first)).verdict).to.equal("allow");
      backend.respond = answer(502);
      harness.clock.advance(10_001);
      const recheck = { ...first, purpose: "recheck" as const, requestNumber: 2 };
      const kept = await harness.step.decide(recheck);
      expect(kept).to.deep.equal(allow("stale-if-error: backend answered 502; allow kept", { name: "bob" }, 10));
      harness.clock.advance(20_000);
      expect((await harness.step.decide({ ...recheck, requestNumber: 3 })).verdict, "still inside the grace").to.equal("allow");
      expect(harness.logs.events("backend.stale_if_error")).to.have.length(2);
      harness.clock.advance(10_000);
      expect(await harness.step.decide({ ...recheck, requestNumber: 4 })).to.deep.equal(deny("backend answered 502"));
    });

    it("a NEW session gets no grace: 5xx denies it", async () => {
      make({ staleIfErrorSec: 30 });
      backend.respond = answer(500);
      const session = harness.openSession();
      expect((await harness.step.decide(authRequest({ sessionId: session.id }))).verdict).to.equal("deny");
    });
  });
});
