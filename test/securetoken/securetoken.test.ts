import { expect } from "chai";
import { createHash } from "node:crypto";
import { createSecureTokenAuthorizer, FORGED_REASON } from "../../plugin/src/securetoken/securetoken-authorizer.js";
import { securetokenSchema } from "../../plugin/src/securetoken/securetoken-schema.js";
import { SignedLinkError } from "../../plugin/src/core/errors.js";
import { makeSecureLink, parseConfig, type StepVerdict } from "../../plugin/src/index.js";
import { authRequest } from "../helpers/auth-requests.js";
import { ManualClock } from "../helpers/manual-clock.js";

/** The query of a link, for feeding a step. */
const queryOf = (link: string) => new URL(link).search.slice(1);

describe("securetoken: published vectors", () => {
  it("reproduces Cesbo Astra's published token (docs/protocols.md §4.1)", () => {
    const link = makeSecureLink({
      url: "http://example.com/tv/travel-channel/index.m3u8",
      ip: "192.168.88.98",
      secret: "secret",
      nowMs: 1669810000_000,
      lifetimeSec: 80000,
      salt: "a5cd6c00",
    });
    expect(link).to.equal(
      "http://example.com/tv/travel-channel/index.m3u8?token=e8bff06f373694dda657e8417fe76f6b54b69807-a5cd6c00-1669890000-1669810000",
    );
  });

  it("reproduces node-media-server's sign example (docs/protocols.md §4.3)", () => {
    const link = makeSecureLink({
      url: "rtmp://example.com/live/stream",
      secret: "nodemedia2017privatekey",
      format: "nms",
      nowMs: 4102444799_000,
      lifetimeSec: 1,
    });
    expect(link).to.equal("rtmp://example.com/live/stream?sign=4102444800-6cf004fcee7fba7d00f99617aea4e0cc");
  });

  it("makes Flussonic tokens as sha1(name + ip + start + end + key + salt) (docs/protocols.md §4.2)", () => {
    const link = makeSecureLink({
      url: "http://example.com/live/news/index.m3u8?x=1",
      ip: "10.1.2.3",
      secret: "key1",
      format: "flussonic",
      nowMs: 1700000000_000,
      lifetimeSec: 3600,
      salt: "abc123",
    });
    const expected = createHash("sha1")
      .update("news" + "10.1.2.3" + "1700000000" + "1700003600" + "key1" + "abc123")
      .digest("hex");
    expect(link).to.equal(`http://example.com/live/news/index.m3u8?x=1&token=${expected}-abc123-1700003600-1700000000`);
  });

  it("refuses to make a link from a URL without app and channel, with its own error code", () => {
    expect(() => makeSecureLink({ url: "http://example.com/live", secret: "s", lifetimeSec: 60 }))
      .to.throw(SignedLinkError, 'url path "/live" does not name an app and a channel (/app/channel...)')
      .with.property("code", "VA_ERR_SIGNED_LINK_INPUT");
  });
});

describe("securetoken step", () => {
  const start = 1700000000_000;
  const clock = new ManualClock(start);
  beforeEach(() => clock.set(start + 10_000));

  function step(fields: Record<string, unknown>) {
    return createSecureTokenAuthorizer(parseConfig(securetokenSchema, fields), clock, undefined);
  }
  function decide(s: ReturnType<typeof step>, link: string, fields: Parameters<typeof authRequest>[0] = {}): StepVerdict {
    const url = new URL(link);
    return s.decide(authRequest({ path: url.pathname, query: queryOf(link), ...fields })) as StepVerdict;
  }
  const astra = step({ secrets: ["old-secret", "new-secret"], clockSkewSec: 30 });
  const link = (over: Partial<Parameters<typeof makeSecureLink>[0]> = {}) =>
    makeSecureLink({ url: "http://h/live/test.flv", ip: "127.0.0.1", secret: "new-secret", nowMs: start, lifetimeSec: 60, ...over });

  it("allows an Astra link for its path and IP, signed with any active secret (rotation)", () => {
    // Valid until its end plus the skew that admits it: the session is cut as expired then.
    expect(decide(astra, link())).to.deep.equal({
      verdict: "allow",
      reason: "securetoken (astra) valid until 2023-11-14T22:14:20.000Z",
      validUntilMs: Date.parse("2023-11-14T22:14:20.000Z") + 30_000,
    });
    expect(decide(astra, link({ secret: "old-secret" }))).to.include({ verdict: "allow" });
  });

  it("with maxUses, an allow carries the bound: the link's parameter, its uses and its end", () => {
    const counted = step({ secrets: ["new-secret"], clockSkewSec: 0, maxUses: 2 });
    const untilMs = Date.parse("2023-11-14T22:14:20.000Z");
    expect(decide(counted, link())).to.deep.include({ validUntilMs: untilMs, uses: { param: "token", max: 2, untilMs } });
    expect(decide(astra, link())).to.not.have.property("uses");
  });

  it("denies a link signed with a retired secret, as forged", () => {
    expect(decide(astra, link({ secret: "retired-secret" }))).to.deep.equal({ verdict: "deny", reason: FORGED_REASON });
  });

  it("denies a link used from another IP or for another path", () => {
    expect(decide(astra, link(), { ip: "127.0.0.2" })).to.include({ verdict: "deny", reason: FORGED_REASON });
    expect(decide(astra, link({ url: "http://h/live/other.flv" }), { channel: "test", path: "/live/test.flv" })).to.include({
      reason: FORGED_REASON,
    });
  });

  it("denies a tampered hash or end time", () => {
    const good = link();
    const tamperedHash = good.replace(/token=./, (m) => m.slice(0, -1) + (m.endsWith("0") ? "1" : "0"));
    const longerLife = good.replace(/-(\d+)-(\d+)$/, (_, end: string, s: string) => `-${Number(end) + 3600}-${s}`);
    expect(decide(astra, tamperedHash)).to.include({ verdict: "deny", reason: FORGED_REASON });
    expect(decide(astra, longerLife)).to.include({ verdict: "deny", reason: FORGED_REASON });
  });

  it("denies an expired link past the clock skew, and one not valid yet", () => {
    clock.set(start + 60_000 + 30_000);
    expect(decide(astra, link())).to.include({ verdict: "allow" });
    clock.set(start + 60_000 + 31_000);
    expect(decide(astra, link())).to.deep.equal({ verdict: "deny", reason: "securetoken expired at 2023-11-14T22:14:20.000Z" });
    clock.set(start - 31_000);
    expect(decide(astra, link())).to.deep.equal({ verdict: "deny", reason: "securetoken not valid before 2023-11-14T22:13:20.000Z" });
  });

  it("re-checks of a playing session verify the hash but not the time window", () => {
    clock.set(start + 3600_000);
    expect(decide(astra, link(), { purpose: "recheck" })).to.include({ verdict: "allow" });
    expect(decide(astra, link({ secret: "x" }), { purpose: "recheck" })).to.include({ verdict: "deny" });
  });

  it("passes a request without a token, or with a token that is not securetoken-shaped", () => {
    expect(astra.decide(authRequest())).to.deep.equal({ verdict: "pass" });
    expect(astra.decide(authRequest({ query: "token=demo" }))).to.deep.equal({ verdict: "pass" });
    expect(astra.decide(authRequest({ query: "token=0123456789abcdef0123456789abcdef" }))).to.deep.equal({ verdict: "pass" });
  });

  it("with bindIp off, accepts links made without an IP from any address", () => {
    const unbound = step({ secrets: ["new-secret"], bindIp: false });
    const made = link({ ip: undefined });
    expect(decide(unbound, made, { ip: "192.0.2.7" })).to.include({ verdict: "allow" });
    expect(decide(unbound, link(), { ip: "127.0.0.1" })).to.include({ verdict: "deny" });
  });

  it("flussonic: checks the stream name, whatever the protocol's path", () => {
    const flussonic = step({ format: "flussonic", secrets: ["new-secret"] });
    const made = link({ format: "flussonic", url: "http://h/live/test/index.m3u8" });
    expect(decide(flussonic, made, { path: "/live/test", protocol: "rtmp" })).to.include({ verdict: "allow" });
    expect(decide(flussonic, made, { channel: "other" })).to.include({ verdict: "deny" });
  });

  it("nms: reads ?sign=, binds app and stream, ignores ?token=", () => {
    const nms = step({ format: "nms", secrets: ["new-secret"] });
    const made = link({ format: "nms", url: "rtmp://h/live/test" });
    expect(made).to.match(/\?sign=1700000060-[0-9a-f]{32}$/);
    expect(decide(nms, made, { path: "/live/test" })).to.include({ verdict: "allow" });
    expect(decide(nms, made, { app: "vod" })).to.include({ verdict: "deny", reason: FORGED_REASON });
    expect(nms.decide(authRequest({ query: "token=abc" }))).to.deep.equal({ verdict: "pass" });
    clock.set(start + 91_000);
    expect(decide(nms, made)).to.deep.equal({ verdict: "deny", reason: "securetoken expired at 2023-11-14T22:14:20.000Z" });
  });
});
