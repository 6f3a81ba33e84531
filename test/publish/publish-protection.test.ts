import { expect } from "chai";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import { pluginConfigSchema, type PluginConfig } from "../../plugin/src/plugin-config-schema.js";
import { ConfigError } from "../../plugin/src/core/errors.js";
import { makeSecureLink } from "../../plugin/src/index.js";
import { PublishPolicy, type PublishAttempt } from "../../plugin/src/publish/publish-policy.js";
import { LocalProcesses } from "../../plugin/src/net/process-proof.js";
import { ManualClock } from "../helpers/manual-clock.js";

const PUBLISH_SECRET = "publish-secret-4c1d9e7a";
const PLAY_SECRET = "play-secret-8b2f6a13";
/** What the server's ingest URL carried before the process proof: now just a parameter nobody honours. */
const OLD_INTERNAL_SECRET = "internal-secret-5e7c2b90";

describe("publish policy: who may publish (no server)", () => {
  // This test process stands in for a server child: it holds no socket to any port below.
  const ownProcesses = new LocalProcesses();
  ownProcesses.add(process.pid);
  const clock = new ManualClock(1_800_000_000_000);
  const configOf = (publish: Record<string, unknown>, auth: Record<string, unknown> = {}) =>
    parseConfig(pluginConfigSchema, { auth, publish }) as PluginConfig;
  const attempt = (over: Partial<PublishAttempt> = {}): PublishAttempt => ({
    app: "live",
    channel: "cam1",
    ip: "203.0.113.7",
    query: {},
    ...over,
  });
  const policyOf = (publish: Record<string, unknown>) => new PublishPolicy(configOf(publish).publish, clock, ownProcesses);
  const signed = (
    url: string,
    opts: { ip?: string; nowMs?: number; lifetimeSec?: number; format?: "astra" | "flussonic" | "nms" } = {},
  ) => {
    const link = makeSecureLink({
      url,
      secret: PUBLISH_SECRET,
      lifetimeSec: opts.lifetimeSec ?? 600,
      nowMs: opts.nowMs ?? clock.now(),
      publish: true,
      ...opts,
    });
    return Object.fromEntries(new URL(link).searchParams);
  };

  it("defaults to loopback only, with publish links off", () => {
    const config = configOf({});
    expect(config.publish.allowIps.map((r) => r.text)).to.deep.equal(["127.0.0.1/32", "::1/128"]);
    expect(config.publish.securetoken.secrets).to.deep.equal([]);
    const policy = new PublishPolicy(config.publish, clock);
    expect(policy.decide(attempt({ ip: "127.0.0.1" }))).to.include({ allow: true, reason: "allowed-address" });
    expect(policy.decide(attempt({ ip: "::1" }))).to.include({ allow: true, reason: "allowed-address" });
    expect(policy.decide(attempt({ ip: "::ffff:127.0.0.1" }))).to.include({ allow: true, reason: "allowed-address" });
    expect(policy.decide(attempt({ ip: "10.0.0.5" }))).to.include({ allow: false, reason: "not-allowed" });
    expect(policy.decide(attempt({ ip: "" }))).to.include({ allow: false, reason: "not-allowed" });
    // Signatures off: even a well-formed one does not open the door.
    expect(policy.decide(attempt({ query: signed("rtmp://h/live/cam1", { ip: "203.0.113.7" }) }))).to.include({
      allow: false,
      reason: "not-allowed",
    });
  });

  it("reports configuration mistakes with their key paths, and refuses a publish secret that is also a play secret", () => {
    const issues = (input: unknown) => {
      try {
        parseConfig(pluginConfigSchema, input);
      } catch (error) {
        expect(error).to.be.instanceOf(ConfigError);
        return (error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
      }
      throw new Error("expected a ConfigError");
    };
    expect(issues({ publish: { allowIps: ["10.0.0.300/8"], alowIps: [] } })).to.have.members([
      "publish.allowIps[0]: is not an IP address or CIDR",
      'publish.alowIps: is not a known key (did you mean "allowIps"?)',
    ]);
    expect(issues({ publish: { securetoken: { secrets: [""], clockSkewSec: -1 } } })).to.have.members([
      "publish.securetoken.secrets[0]: must not be empty",
      "publish.securetoken.clockSkewSec: must be at least 0 s",
    ]);
    expect(
      issues({ auth: { securetoken: { secrets: [PLAY_SECRET] } }, publish: { securetoken: { secrets: [PUBLISH_SECRET, PLAY_SECRET] } } }),
    ).to.deep.equal([
      "publish.securetoken.secrets[1]: is also in auth.securetoken.secrets: a play link would be a publish credential; give publishing a secret of its own",
    ]);
  });

  it("decides in order: live name, own process, address, signature", () => {
    const policy = policyOf({ allowIps: ["198.51.100.0/24"], securetoken: { secrets: ["old-publish-secret", PUBLISH_SECRET] } });
    const good = signed("rtmp://h/live/cam1", { ip: "203.0.113.7" });
    expect(policy.decide(attempt({ query: good }))).to.deep.include({ allow: true, reason: "signed" });
    expect(policy.decide(attempt({ ip: "198.51.100.9" }))).to.deep.include({
      allow: true,
      reason: "allowed-address",
      detail: "address on publish.allowIps (198.51.100.0/24)",
    });
    // A live name is refused whoever asks, even with a valid signature.
    expect(policy.decide(attempt({ query: good, live: true }))).to.include({ allow: false, reason: "channel-live" });
    // The old internal secret parameter is honoured nowhere; a loopback RTMP connection no registered
    // process holds is just another publisher (the proof with real processes: internal-processes.integration.test.ts).
    expect(policy.decide(attempt({ ip: "127.0.0.1", query: { va_internal: OLD_INTERNAL_SECRET } }))).to.include({
      allow: false,
      reason: "not-allowed",
    });
    expect(policy.decide(attempt({ ip: "127.0.0.1", protocol: "rtmp", connection: { localPort: 1, remotePort: 2 } }))).to.include({
      allow: false,
      reason: "not-allowed",
    });
    // Not an own property: `constructor` and friends are not parameters.
    expect(policy.decide(attempt({ query: Object.create({ token: good.token }) as Record<string, string> }))).to.include({
      allow: false,
      reason: "not-allowed",
    });
  });

  it("binds a signature to the stream, the address (bindIp) and its validity window", () => {
    const policy = policyOf({ allowIps: [], securetoken: { secrets: [PUBLISH_SECRET] } });
    const token = signed("rtmp://h/live/cam1", { ip: "203.0.113.7" });
    expect(policy.decide(attempt({ channel: "cam2", query: token }))).to.include({ allow: false, reason: "signature-forged" });
    expect(policy.decide(attempt({ ip: "203.0.113.8", query: token }))).to.include({ allow: false, reason: "signature-forged" });
    const edited = token.token!.replace(/^./, (c) => (c === "0" ? "1" : "0"));
    expect(policy.decide(attempt({ query: { token: edited } }))).to.include({ allow: false, reason: "signature-forged" });
    expect(policy.decide(attempt({ query: { token: "not-a-token" } }))).to.include({ allow: false, reason: "signature-malformed" });
    const expired = signed("rtmp://h/live/cam1", { ip: "203.0.113.7", nowMs: clock.now() - 3_600_000, lifetimeSec: 600 });
    expect(policy.decide(attempt({ query: expired }))).to.include({ allow: false, reason: "signature-expired" });
    const early = signed("rtmp://h/live/cam1", { ip: "203.0.113.7", nowMs: clock.now() + 3_600_000 });
    expect(policy.decide(attempt({ query: early }))).to.include({ allow: false, reason: "signature-not-yet-valid" });
    // An FLV publish URL signs the same subject: /app/stream.
    expect(policy.decide(attempt({ query: signed("http://h:8000/live/cam1.flv", { ip: "203.0.113.7" }) }))).to.include({
      allow: true,
      reason: "signed",
    });
    const nms = policyOf({ allowIps: [], securetoken: { format: "nms", secrets: [PUBLISH_SECRET] } });
    expect(nms.decide(attempt({ query: signed("rtmp://h/live/cam1", { format: "nms" }) }))).to.include({ allow: true, reason: "signed" });
  });
});
