import { expect } from "chai";
import { buildChain } from "../../plugin/src/build-chain.js";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import { pluginConfigSchema, type PluginConfig } from "../../plugin/src/plugin-config-schema.js";
import type { Decision } from "../../plugin/src/core/decision.js";
import { allow, deny } from "../../plugin/src/core/decision.js";
import type { Authorizer } from "../../plugin/src/core/authorizer.js";
import type { ViewerSession } from "../../plugin/src/core/viewer-session.js";
import { admit } from "../../plugin/src/gate/admission.js";
import type { ConnectionPort, RequestFields } from "../../plugin/src/gate/connection-port.js";
import type { GateContext } from "../../plugin/src/gate/gate-context.js";
import { AddressRules } from "../../plugin/src/net/address-rules.js";
import { parseIpAddress } from "../../plugin/src/net/ip-address.js";
import { credentialKey } from "../../plugin/src/sessions/credential-key.js";
import { MemorySessionStore } from "../../plugin/src/sessions/memory-session-store.js";
import { RevocationList } from "../../plugin/src/sessions/revocation-list.js";
import { SessionLimiter } from "../../plugin/src/sessions/session-limiter.js";
import { SessionRechecker } from "../../plugin/src/sessions/session-rechecker.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";
import { ManualClock } from "../helpers/manual-clock.js";

/**
 * A connection port as small as the interface allows: the network edge a host adapter stands for,
 * recording what the pipeline asked of it. Everything behind it (chain, store, limits) is real.
 */
class RecordingPort implements ConnectionPort {
  readonly protocol = "http-flv" as const;
  readonly app: string;
  readonly channel: string;
  readonly fields: RequestFields;
  readonly checksPlayFields = true;
  readonly transport = { bytesOut: () => 0, close: () => this.calls.push("transport-close") };
  readonly calls: string[] = [];
  refusedWith: Decision | undefined;
  gone = false;
  hostAnswer: string | null = null;
  throwOnPlay = false;
  openedSession: ViewerSession | undefined;

  constructor(channel: string, query = "", userAgent = "player/1") {
    this.app = "live";
    this.channel = channel;
    this.fields = {
      ip: "192.0.2.5",
      address: parseIpAddress("192.0.2.5"),
      path: `/live/${channel}.flv`,
      query,
      params: new URLSearchParams(query),
      userAgent,
      host: "edge.example",
      origin: "http://edge.example",
    };
  }

  opened(session: ViewerSession): void {
    this.openedSession = session;
  }

  isGone(): boolean {
    return this.gone;
  }

  refuse(decision: Decision): void {
    this.calls.push("refuse");
    this.refusedWith = decision;
  }

  cut(): void {
    this.calls.push("cut");
  }

  play(): string | null {
    this.calls.push("play");
    if (this.throwOnPlay) throw new Error("host broke");
    return this.hostAnswer;
  }
}

describe("the admission pipeline (real chain, store and limits behind a recording connection port)", () => {
  function setUp(step: Authorizer) {
    const clock = new ManualClock(1_000_000);
    const logs = createCapturingLogger();
    const config = parseConfig(pluginConfigSchema, { auth: { defaultAction: "deny" } }) as PluginConfig;
    const registry = new MemorySessionStore(clock, logs.logger);
    const revocations = new RevocationList(clock);
    const chain = buildChain(config, { sessions: registry, clock, revocations, customAuthorizers: [step] }, logs.logger);
    const rechecker = new SessionRechecker(chain, registry, 300, logs.logger);
    const ctx: GateContext = {
      chain,
      registry,
      rechecker,
      revocations,
      log: logs.logger,
      limiter: new SessionLimiter(registry, config.sessions.limitPolicy, config.sessions),
      addressRules: new AddressRules(config.auth),
    };
    const ended: ViewerSession[] = [];
    registry.subscribe("ended", (s) => ended.push(s));
    return {
      ctx,
      logs,
      revocations,
      ended,
      close: () => {
        rechecker.close();
        return chain.close();
      },
    };
  }
  const allowBob: Authorizer = { name: "custom", decide: () => allow("scripted", { userId: "bob" }) };

  it("an allowed viewer plays: one session, the request built from the port's fields, play asked once", async () => {
    let seen: unknown;
    const { ctx, ended, close } = setUp({ name: "custom", decide: (r) => ((seen = r), allow("scripted", { userId: "bob" })) });
    const port = new RecordingPort("news", "token=t1");
    await admit(ctx, port);
    expect(port.calls).to.deep.equal(["play"]);
    expect(seen).to.include({
      protocol: "http-flv",
      app: "live",
      channel: "news",
      ip: "192.0.2.5",
      path: "/live/news.flv",
      query: "token=t1",
      purpose: "new",
      requestNumber: 1,
    });
    const [session] = ctx.registry.query({}, { limit: 10 }).sessions;
    expect(session).to.include({ state: "playing", ip: "192.0.2.5", userAgent: "player/1" });
    expect(ended).to.deep.equal([]);
    await close();
  });

  it("a revoked credential is refused by the chain's revoked step: refuse once, session denied at stage revoked, audited", async () => {
    const { ctx, logs, revocations, ended, close } = setUp(allowBob);
    revocations.add({ kind: "token", key: credentialKey("token", "t1")!, untilMs: 9_000_000 });
    const port = new RecordingPort("news", "token=t1");
    await admit(ctx, port);
    expect(port.calls).to.deep.equal(["refuse"]);
    expect(port.refusedWith).to.include({ verdict: "deny", step: "revoked" });
    expect(ended.map((s) => [s.endReason, s.refusal?.stage])).to.deep.equal([["denied", "revoked"]]);
    expect(logs.events("auth.decision").at(-1)).to.include({ step: "revoked", verdict: "deny" });
    expect(logs.events("gate.revoked_refused")).to.have.length(1);
    await close();
  });

  it("a revoked user is refused on the allow's identity, and the refusal keeps the identity", async () => {
    const { ctx, revocations, ended, close } = setUp(allowBob);
    revocations.add({ kind: "user", key: "bob", untilMs: 9_000_000 });
    const port = new RecordingPort("news");
    await admit(ctx, port);
    expect(port.calls).to.deep.equal(["refuse"]);
    expect(ended[0]?.refusal).to.deep.equal({ stage: "revoked", identity: { userId: "bob" } });
    await close();
  });

  it("a malformed channel opens no session and never reaches the chain; a malformed user agent ends as input", async () => {
    let asked = 0;
    const { ctx, logs, ended, close } = setUp({ name: "custom", decide: () => (asked++, allow("scripted")) });
    const bad = new RecordingPort("no/such");
    await admit(ctx, bad);
    expect(bad.calls).to.deep.equal(["refuse"]);
    expect(ctx.registry.count({})).to.equal(0);
    const badAgent = new RecordingPort("news", "", "bad\u0001agent");
    await admit(ctx, badAgent);
    expect(badAgent.calls).to.deep.equal(["refuse"]);
    expect(ended.map((s) => [s.endReason, s.refusal?.stage])).to.deep.equal([["denied", "input"]]);
    expect(logs.events("gate.bad_input").map((l) => l.field)).to.deep.equal(["channel", "userAgent"]);
    expect(asked).to.equal(0);
    await close();
  });

  it("a viewer gone while the chain ran ends as viewer-left, with nothing sent", async () => {
    let port: RecordingPort | undefined;
    const { ctx, ended, close } = setUp({ name: "custom", decide: async () => ((port!.gone = true), deny("no")) });
    port = new RecordingPort("news");
    await admit(ctx, port);
    expect(port.calls).to.deep.equal([]);
    expect(ended.map((s) => s.endReason)).to.deep.equal(["viewer-left"]);
    await close();
  });

  it("the host refusing an allowed play, or failing, ends the session as denied and cuts the connection", async () => {
    const { ctx, logs, ended, close } = setUp(allowBob);
    const refusedByHost = new RecordingPort("news");
    refusedByHost.hostAnswer = "bad sign";
    await admit(ctx, refusedByHost);
    expect(refusedByHost.calls).to.deep.equal(["play", "cut"]);
    expect(logs.events("gate.nms_refused")[0]).to.include({ reason: "bad sign" });
    const failing = new RecordingPort("sports");
    failing.throwOnPlay = true;
    await admit(ctx, failing); // never rejects
    expect(failing.calls).to.deep.equal(["play", "cut"]);
    expect(logs.events("gate.failed")).to.have.length(1);
    expect(ended.map((s) => [s.channel, s.endReason])).to.deep.equal([
      ["news", "denied"],
      ["sports", "denied"],
    ]);
    await close();
  });
});
