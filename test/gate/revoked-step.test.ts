import { expect } from "chai";
import { buildChain } from "../../plugin/src/build-chain.js";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import { pluginConfigSchema, type PluginConfig } from "../../plugin/src/plugin-config-schema.js";
import type { Authorizer } from "../../plugin/src/core/authorizer.js";
import { allow } from "../../plugin/src/core/decision.js";
import { credentialKey } from "../../plugin/src/sessions/credential-key.js";
import { MemorySessionStore } from "../../plugin/src/sessions/memory-session-store.js";
import { RevocationList } from "../../plugin/src/sessions/revocation-list.js";
import { authRequest } from "../helpers/auth-requests.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";
import { ManualClock } from "../helpers/manual-clock.js";

describe("the chain's revoked step", () => {
  const UNTIL_MS = 2_000_000;

  function setUp() {
    const clock = new ManualClock(1_000_000);
    const logs = createCapturingLogger();
    const revocations = new RevocationList(clock);
    let asked = 0;
    // An operator step that lets everyone in as alice: what a later step's allow looks like to the veto.
    const alice: Authorizer = { name: "custom", decide: () => (asked++, allow("scripted", { userId: "alice", name: "alice-tv" })) };
    const config = parseConfig(pluginConfigSchema, { auth: { defaultAction: "deny" } }) as PluginConfig;
    const chain = buildChain(
      config,
      { sessions: new MemorySessionStore(clock, logs.logger), clock, revocations, customAuthorizers: [alice] },
      logs.logger,
    );
    return { clock, logs, revocations, chain, asked: () => asked };
  }

  it("runs first when there is no internal step, and lets everything through while nothing is revoked", async () => {
    const { chain, logs } = setUp();
    expect(chain.stepNames).to.deep.equal(["revoked", "ip-deny", "ip-allow", "custom"]);
    const decision = await chain.decide(authRequest({ query: "token=abc" }));
    expect(decision).to.include({ verdict: "allow", step: "custom" });
    expect(logs.events("auth.decision").at(-1)).to.include({ step: "custom", verdict: "allow", user: "alice" });
  });

  it("refuses a revoked credential up front, in any parameter, before any later step is asked", async () => {
    const { chain, revocations, logs, asked } = setUp();
    revocations.add({ kind: "token", key: credentialKey("token", "abc")!, untilMs: UNTIL_MS });
    for (const query of ["token=abc", "other=1&token=abc"]) {
      const decision = await chain.decide(authRequest({ query }));
      expect(decision, query).to.include({ verdict: "deny", step: "revoked", reason: "the token is revoked" });
    }
    expect(asked(), "no later step runs for a revoked credential").to.equal(0);
    expect(logs.events("auth.decision").map((l) => l.step)).to.deep.equal(["revoked", "revoked"]);
    expect(await chain.decide(authRequest({ query: "token=other" }))).to.include({ verdict: "allow", step: "custom" });
  });

  it("refuses a revoked address up front", async () => {
    const { chain, revocations, asked } = setUp();
    revocations.add({ kind: "ip", key: "192.0.2.9", untilMs: UNTIL_MS });
    expect(await chain.decide(authRequest({ ip: "192.0.2.9" }))).to.include({
      verdict: "deny",
      step: "revoked",
      reason: "address 192.0.2.9 is revoked",
    });
    expect(asked()).to.equal(0);
    expect(await chain.decide(authRequest({ ip: "192.0.2.10" }))).to.include({ verdict: "allow", step: "custom" });
  });

  it("vetoes a later step's allow of a revoked user id or session name, reporting step revoked with the identity", async () => {
    const { chain, revocations, logs } = setUp();
    for (const key of ["alice", "alice-tv"]) {
      revocations.replaceAll([{ kind: "user", key, untilMs: UNTIL_MS }]);
      const decision = await chain.decide(authRequest());
      expect(decision, key).to.include({ verdict: "deny", step: "revoked" });
      expect(decision.reason).to.match(/^user alice(-tv)? is revoked$/);
      expect(decision.user, "the refusal names whom the allow named").to.deep.equal({ userId: "alice", name: "alice-tv" });
      expect(logs.events("auth.decision").at(-1)).to.include({ step: "revoked", verdict: "deny", user: "alice" });
    }
  });

  it("lets a revocation lapse or be lifted", async () => {
    const { chain, revocations, clock } = setUp();
    revocations.add({ kind: "user", key: "alice", untilMs: UNTIL_MS });
    revocations.add({ kind: "ip", key: "192.0.2.9", untilMs: UNTIL_MS });
    expect(await chain.decide(authRequest())).to.include({ step: "revoked" });
    revocations.lift("user", "alice");
    expect(await chain.decide(authRequest())).to.include({ verdict: "allow", step: "custom" });
    expect(await chain.decide(authRequest({ ip: "192.0.2.9" }))).to.include({ step: "revoked" });
    clock.advance(UNTIL_MS);
    expect(await chain.decide(authRequest({ ip: "192.0.2.9" }))).to.include({ verdict: "allow", step: "custom" });
  });
});
