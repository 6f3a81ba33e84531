import { expect } from "chai";
import { BANNED_REASON } from "../../plugin/src/brute-force/brute-force-throttle.js";
import { buildChain } from "../../plugin/src/build-chain.js";
import { UNKNOWN_TOKEN_REASON } from "../../plugin/src/users/users-authorizer.js";
import { allow, deny, parseConfig, pluginConfigSchema, type Authorizer, type PluginConfigInput } from "../../plugin/src/index.js";
import { MemorySessionStore } from "../../plugin/src/sessions/memory-session-store.js";
import { UserStore } from "../../plugin/src/users/user-store.js";
import { authRequest } from "../helpers/auth-requests.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";
import { ManualClock } from "../helpers/manual-clock.js";

const GOOD = "token=right-user-token-01";

/** A real custom step (the public extension point): allows its own token, denies one, passes the rest. */
const middlewareToken: Authorizer = {
  name: "custom",
  decide: (request) => {
    const token = request.params.get("token");
    if (token === "middleware-token-01") return allow("middleware token");
    if (token === "revoked-middleware-token") return deny("middleware says revoked");
    return { verdict: "pass" };
  },
};

describe("brute-force throttle: wrong user tokens count like wrong passwords (whole chain)", () => {
  const clock = new ManualClock(Date.parse("2026-06-01T00:00:00Z"));

  function chainWith(auth: PluginConfigInput["auth"], customAuthorizers: Authorizer[] = []) {
    const logs = createCapturingLogger();
    const config = parseConfig(pluginConfigSchema, {
      auth: {
        users: [{ login: "alice", tokens: ["right-user-token-01"], packages: ["*"] }],
        bruteForce: { maxFailures: 3, windowSec: 60, banSec: 600 },
        ...auth,
      },
    });
    const users = UserStore.open(config.auth, logs.logger);
    const chain = buildChain(
      config,
      { sessions: new MemorySessionStore(clock, logs.logger), clock, users, customAuthorizers },
      logs.logger,
    );
    const decide = async (query: string, ip: string, purpose: "new" | "recheck" = "new") => {
      const decision = await chain.decide(authRequest({ query, ip, purpose }));
      return { step: decision.step, verdict: decision.verdict, reason: decision.reason };
    };
    return { chain, decide, logs };
  }

  it("when no later step could take a token (no securetoken, custom or backend), an unknown one is denied and counted at the users step", async () => {
    const { chain, decide, logs } = chainWith({ defaultAction: "deny" });
    for (let i = 0; i < 3; i++) {
      expect(await decide(`token=guess-${i}`, "198.51.100.1")).to.deep.equal({
        step: "users",
        verdict: "deny",
        reason: UNKNOWN_TOKEN_REASON,
      });
    }
    expect(logs.events("auth.ip_banned")).to.have.length(1);
    expect(logs.events("auth.ip_banned")[0]).to.include({ ip: "198.51.100.1", failures: 3 });
    expect(await decide(GOOD, "198.51.100.1"), "banned: the right token too").to.deep.equal({
      step: "users",
      verdict: "deny",
      reason: BANNED_REASON,
    });
    expect(await decide(GOOD, "198.51.100.2"), "another address").to.include({ verdict: "allow" });
    clock.advance(600_000);
    expect(await decide(GOOD, "198.51.100.1"), "after the ban").to.include({ verdict: "allow" });
    await chain.close();
  });

  it("with a later step that could take the token, the chain's final default deny of a token counts once; that step's own verdicts do not", async () => {
    const { chain, decide, logs } = chainWith({ defaultAction: "deny" }, [middlewareToken]);
    const ip = "203.0.113.1";
    // The middleware's allows and denies are its verdicts on tokens it knows: never counted.
    for (let i = 0; i < 5; i++) {
      expect(await decide("token=middleware-token-01", ip)).to.include({ step: "custom", verdict: "allow" });
      expect(await decide("token=revoked-middleware-token", ip)).to.include({ step: "custom", verdict: "deny" });
    }
    expect(await decide("", ip), "no token: not counted").to.include({ step: "default", verdict: "deny" });
    expect(await decide("other=1", ip)).to.include({ step: "default", verdict: "deny" });
    expect(await decide(GOOD, ip)).to.include({ step: "users", verdict: "allow" });
    // A token nobody took: passed on by the users step, refused by the default, counted once each.
    for (let i = 0; i < 3; i++) {
      expect(await decide(`token=guess-${i}`, ip)).to.deep.equal({
        step: "default",
        verdict: "deny",
        reason: "no step decided; default is deny",
      });
    }
    expect(logs.events("auth.ip_banned")).to.have.length(1);
    expect(logs.events("auth.ip_banned")[0]).to.include({ ip, failures: 3 });
    expect(await decide(GOOD, ip)).to.deep.equal({ step: "users", verdict: "deny", reason: BANNED_REASON });
    await chain.close();
  });

  it("re-checks are never counted, and a default allow counts nothing (an unknown token is not refused there)", async () => {
    const denying = chainWith({ defaultAction: "deny" }, [middlewareToken]);
    for (let i = 0; i < 5; i++) await denying.decide(`token=old-${i}`, "192.0.2.10", "recheck");
    expect(await denying.decide(GOOD, "192.0.2.10")).to.include({ verdict: "allow" });
    await denying.chain.close();

    for (const custom of [[], [middlewareToken]]) {
      const allowing = chainWith({ defaultAction: "allow" }, custom);
      for (let i = 0; i < 5; i++) {
        expect(await allowing.decide(`token=any-${i}`, "192.0.2.11")).to.deep.equal({
          step: "default",
          verdict: "allow",
          reason: "no step decided; default is allow",
        });
      }
      expect(await allowing.decide(GOOD, "192.0.2.11")).to.include({ step: "users", verdict: "allow" });
      expect(allowing.logs.events("auth.ip_banned")).to.deep.equal([]);
      await allowing.chain.close();
    }
  });

  it("follows a reload of the default action: the users step refuses unknown tokens only while the default is deny", async () => {
    const { chain, decide } = chainWith({ defaultAction: "allow" });
    expect(await decide("token=unknown-one", "192.0.2.20")).to.include({ step: "default", verdict: "allow" });
    chain.defaultAction = "deny";
    expect(await decide("token=unknown-one", "192.0.2.20")).to.deep.equal({ step: "users", verdict: "deny", reason: UNKNOWN_TOKEN_REASON });
    await chain.close();
  });

  it("switched off, nothing is counted", async () => {
    const { chain, decide } = chainWith({ defaultAction: "deny", bruteForce: { enabled: false, maxFailures: 1 } });
    for (let i = 0; i < 3; i++)
      expect(await decide(`token=guess-${i}`, "192.0.2.30")).to.include({ step: "users", reason: UNKNOWN_TOKEN_REASON });
    expect(await decide(GOOD, "192.0.2.30")).to.include({ verdict: "allow" });
    await chain.close();
  });
});
