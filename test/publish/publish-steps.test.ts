import { expect } from "chai";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import { pluginConfigSchema, type PluginConfig } from "../../plugin/src/plugin-config-schema.js";
import { makeSecureLink } from "../../plugin/src/securetoken/make-secure-link.js";
import { LocalProcesses } from "../../plugin/src/net/process-proof.js";
import { ChannelLiveStep } from "../../plugin/src/publish/channel-live-step.js";
import { InternalPublishStep } from "../../plugin/src/publish/internal-publish-step.js";
import { AllowedAddressStep } from "../../plugin/src/publish/allowed-address-step.js";
import { SignedPublishStep } from "../../plugin/src/publish/signed-publish-step.js";
import { buildPublishChain } from "../../plugin/src/publish/build-publish-chain.js";
import { publishRequestOf } from "../../plugin/src/publish/publish-request.js";
import { publishDecisionOf, type PublishAttempt } from "../../plugin/src/publish/publish-decision.js";
import { PASS } from "../../plugin/src/core/decision.js";
import { ManualClock } from "../helpers/manual-clock.js";

const SECRET = "publish-step-secret-7d41c2a9";
const clock = new ManualClock(1_800_000_000_000);
const configOf = (publish: Record<string, unknown>) => (parseConfig(pluginConfigSchema, { publish }) as PluginConfig).publish;
const request = (over: Partial<PublishAttempt> = {}) =>
  publishRequestOf({ app: "live", channel: "cam1", ip: "203.0.113.7", query: {}, protocol: "rtmp", ...over });
/** The query of a publish link for /live/cam1, signed at the test clock's time unless told. */
const signed = (opts: { ip?: string; nowMs?: number; format?: "astra" | "flussonic" | "nms"; url?: string } = {}) =>
  Object.fromEntries(
    new URL(
      makeSecureLink({
        url: opts.url ?? "rtmp://h/live/cam1",
        secret: SECRET,
        lifetimeSec: 600,
        nowMs: opts.nowMs ?? clock.now(),
        publish: true,
        ip: opts.ip ?? "203.0.113.7",
        ...(opts.format ? { format: opts.format } : {}),
      }),
    ).searchParams,
  );

describe("publish request: a publish as an AuthRequest", () => {
  it("is a new publish request for the stream path, with the address parsed once and no viewer fields", () => {
    const built = publishRequestOf({
      app: "live",
      channel: "cam1",
      ip: "::ffff:198.51.100.4",
      query: { token: "t", a: "b c" },
      protocol: "flv",
      live: true,
    });
    expect(built).to.deep.include({
      action: "publish",
      purpose: "new",
      requestNumber: 1,
      sessionId: "",
      protocol: "http-flv",
      ip: "198.51.100.4",
      app: "live",
      channel: "cam1",
      path: "/live/cam1",
      query: "token=t&a=b+c",
      userAgent: "",
      host: "",
      origin: "",
      live: true,
    });
    expect(built.address?.text).to.equal("198.51.100.4");
    expect(built.params.get("a")).to.equal("b c");
    expect(publishRequestOf({ app: "live", channel: "cam1", ip: "", query: {}, protocol: "ws-flv" })).to.deep.include({
      protocol: "ws-flv",
      ip: "",
      address: null,
    });
    expect(publishRequestOf({ app: "live", channel: "cam1", ip: "", query: {} })).to.not.have.property("live");
  });

  it("keeps the TCP ports of an RTMP publisher only, and only the query's own parameters", () => {
    const connection = { localPort: 1935, remotePort: 40000 };
    expect(request({ connection }).connection).to.deep.equal(connection);
    expect(request({ protocol: "flv", connection })).to.not.have.property("connection");
    expect(request({ protocol: undefined, connection })).to.not.have.property("connection");
    const inherited = request({ query: Object.create({ token: "inherited" }) as Record<string, string> });
    expect(inherited.params.has("token")).to.equal(false);
    const keyed = Object.create(null) as Record<string, string>;
    keyed["__proto__"] = "v";
    expect(request({ query: keyed }).params.get("__proto__")).to.equal("v");
  });
});

describe("publish steps (no server)", () => {
  it("channel-live refuses a name with a live publisher and passes any other", () => {
    const step = new ChannelLiveStep();
    expect(step.name).to.equal("channel-live");
    expect(step.decide(request({ live: true }))).to.deep.equal({
      verdict: "deny",
      reason: "channel-live",
      detail: "the name already has a live publisher",
    });
    expect(step.decide(request({ live: false }))).to.equal(PASS);
    expect(step.decide(request())).to.equal(PASS);
  });

  it("allowed-address lets in an address on publish.allowIps and passes the rest, unknown ones included", () => {
    const step = new AllowedAddressStep(configOf({ allowIps: ["198.51.100.0/24", "::1/128"] }).allowIps);
    expect(step.decide(request({ ip: "198.51.100.9" }))).to.deep.equal({
      verdict: "allow",
      reason: "allowed-address",
      detail: "address on publish.allowIps (198.51.100.0/24)",
    });
    expect(step.decide(request({ ip: "::1" }))).to.deep.include({ verdict: "allow", reason: "allowed-address" });
    expect(step.decide(request({ ip: "203.0.113.7" }))).to.equal(PASS);
    expect(step.decide(request({ ip: "" }))).to.equal(PASS);
    expect(new AllowedAddressStep([]).decide(request({ ip: "198.51.100.9" }))).to.equal(PASS);
  });

  it("signed passes when there is no signature or signatures are off, and labels every refusal", () => {
    const step = new SignedPublishStep(configOf({ securetoken: { secrets: [SECRET] } }).securetoken, clock);
    expect(step.name).to.equal("signed");
    expect(step.decide(request())).to.equal(PASS);
    expect(new SignedPublishStep(configOf({}).securetoken, clock).decide(request({ query: signed() }))).to.equal(PASS);
    expect(step.decide(request({ query: signed() }))).to.deep.include({ verdict: "allow", reason: "signed" });
    expect((step.decide(request({ query: signed() })) as { detail: string }).detail).to.match(
      /^publish signature \(astra\) valid until \d{4}-/,
    );
    // The same link over FLV: a publish link names the stream, not the protocol's path.
    expect(step.decide(request({ protocol: "flv", query: signed({ url: "http://h:8000/live/cam1.flv" }) }))).to.deep.include({
      verdict: "allow",
      reason: "signed",
    });
    expect(step.decide(request({ channel: "cam2", query: signed() }))).to.deep.include({ verdict: "deny", reason: "signature-forged" });
    expect(step.decide(request({ ip: "203.0.113.8", query: signed() }))).to.deep.include({ verdict: "deny", reason: "signature-forged" });
    expect(step.decide(request({ query: { token: "not-a-token" } }))).to.deep.include({ verdict: "deny", reason: "signature-malformed" });
    expect(step.decide(request({ query: signed({ nowMs: clock.now() - 3_600_000 }) }))).to.deep.include({
      verdict: "deny",
      reason: "signature-expired",
    });
    expect(step.decide(request({ query: signed({ nowMs: clock.now() + 3_600_000 }) }))).to.deep.include({
      verdict: "deny",
      reason: "signature-not-yet-valid",
    });
    const nms = new SignedPublishStep(configOf({ securetoken: { format: "nms", secrets: [SECRET] } }).securetoken, clock);
    expect(nms.decide(request({ query: signed({ format: "nms" }) }))).to.deep.include({ verdict: "allow", reason: "signed" });
  });

  it("internal passes without registered processes, for a non-RTMP or non-loopback publisher, and for a connection no registered process holds", () => {
    const mine = new LocalProcesses();
    mine.add(process.pid);
    const connection = { localPort: 1, remotePort: 2 };
    expect(new InternalPublishStep(undefined).decide(request({ ip: "127.0.0.1", connection }))).to.equal(PASS);
    expect(new InternalPublishStep(new LocalProcesses()).decide(request({ ip: "127.0.0.1", connection }))).to.equal(PASS);
    expect(new InternalPublishStep(mine).decide(request({ ip: "127.0.0.1", connection }))).to.equal(PASS);
    expect(new InternalPublishStep(mine).decide(request({ ip: "127.0.0.1" }))).to.equal(PASS);
  });
});

describe("buildPublishChain: the publish steps in order", () => {
  const chain = buildPublishChain(configOf({ allowIps: ["198.51.100.0/24"], securetoken: { secrets: [SECRET] } }), clock);

  it("runs channel-live, internal, allowed-address, signed, then refuses as not-allowed", () => {
    expect(chain.stepNames).to.deep.equal(["channel-live", "internal", "allowed-address", "signed"]);
    expect(chain.decide(request())).to.deep.equal({
      step: "default",
      verdict: { verdict: "deny", reason: "not-allowed", detail: "address not on publish.allowIps and no publish signature" },
    });
    expect(chain.decide(request({ ip: "198.51.100.9", live: true, query: signed({ ip: "198.51.100.9" }) }))).to.deep.include({
      step: "channel-live",
    });
    expect(chain.decide(request({ ip: "198.51.100.9", query: { token: "not-a-token" } }))).to.deep.include({ step: "allowed-address" });
    expect(chain.decide(request({ query: signed() }))).to.deep.include({ step: "signed" });
  });

  it("gives the publish decision: allow, the reason that labels the metric, the audit detail", () => {
    expect(publishDecisionOf(chain.decide(request({ ip: "198.51.100.9" })))).to.deep.equal({
      allow: true,
      reason: "allowed-address",
      detail: "address on publish.allowIps (198.51.100.0/24)",
    });
    expect(publishDecisionOf(chain.decide(request()))).to.deep.equal({
      allow: false,
      reason: "not-allowed",
      detail: "address not on publish.allowIps and no publish signature",
    });
    // A verdict whose reason is not a publish label would name an unknown metric series: refused loudly.
    expect(() => publishDecisionOf({ step: "signed", verdict: { verdict: "allow", reason: "not-a-label" } })).to.throw("unknown reason");
    expect(() => publishDecisionOf({ step: "signed", verdict: { verdict: "deny", reason: "signed" } })).to.throw("unknown reason");
  });
});
