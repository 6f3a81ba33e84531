import { expect } from "chai";
import { performance } from "node:perf_hooks";
import { buildViewerAuth, parseConfig, pluginConfigSchema, type PluginConfig, type ViewerAuth } from "../../plugin/src/index.js";
import { answer, startStubBackend, type StubBackend } from "../helpers/stub-backend.js";
import { createCapturingLogger, type CapturedLog } from "../helpers/capturing-logger.js";
import { authRequest } from "../helpers/auth-requests.js";
import { waitFor } from "../helpers/wait-for.js";

/** A backend that allows `user=<name>` as that user with a limit of 2, and denies the rest. */
function allowUsers(stub: StubBackend, overrides: Record<string, [number, Record<string, string>]> = {}, delayMs = 0): void {
  stub.respond = (req, res) => {
    const user = new URL(req.url ?? "/", "http://x").searchParams.get("user") ?? "";
    const [status, headers] = overrides[user] ?? (user === "" ? [403, {}] : [200, { "X-UserId": user, "X-Max-Sessions": "2" }]);
    setTimeout(() => answer(status, headers)(req, res), delayMs);
  };
}

describe("auth.shadowBackend: asked beside the real backend, never deciding", function () {
  this.timeout(60000);
  let real: StubBackend;
  let shadow: StubBackend;
  let auth: ViewerAuth;
  let logs: CapturedLog;

  async function metric(): Promise<string> {
    const { body } = await auth.metrics.render();
    return body
      .split("\n")
      .filter((line) => line.startsWith("va_shadow_disagreements_total{"))
      .join("\n");
  }

  before(async () => {
    real = await startStubBackend();
    shadow = await startStubBackend();
    logs = createCapturingLogger();
    const config = parseConfig(pluginConfigSchema, {
      auth: {
        backend: { type: "http-request", url: `${real.base}/auth`, denyTtlSec: 0, allowTtlSec: 0 },
        shadowBackend: { type: "http-request", url: `${shadow.base}/shadow`, denyTtlSec: 0, allowTtlSec: 0 },
      },
    }) as PluginConfig;
    auth = buildViewerAuth(config, { logger: logs.logger });
  });

  after(async () => {
    await auth?.detach();
    await real?.close();
    await shadow?.close();
  });

  it("the real backend decides; each disagreement is counted by kind and logged once per (kind, subject) with both answers", async () => {
    allowUsers(real);
    // The shadow denies carol, names dave differently, gives erin another limit, agrees on alice.
    allowUsers(shadow, {
      carol: [403, {}],
      dave: [200, { "X-UserId": "david", "X-Max-Sessions": "2" }],
      erin: [200, { "X-UserId": "erin", "X-Max-Sessions": "9" }],
    });
    for (const user of ["alice", "carol", "carol", "dave", "erin"]) {
      const decision = await auth.chain.decide(authRequest({ query: `user=${user}` }));
      expect(decision, user).to.include({ verdict: "allow", step: "backend" });
      expect(decision.user?.userId).to.equal(user);
    }
    // Two concurrent identical checks share one shadow call (its own verdict cache), yet both are compared.
    await waitFor(
      "four disagreements counted",
      async () =>
        (await metric()) ===
        [
          'va_shadow_disagreements_total{kind="verdict"} 2',
          'va_shadow_disagreements_total{kind="identity"} 1',
          'va_shadow_disagreements_total{kind="limit"} 1',
        ].join("\n")
          ? true
          : undefined,
      10000,
      50,
    );
    const lines = logs.events("backend.shadow_disagreement");
    expect(lines.map((l) => `${String(l.kind)}:${String(l.subject)}`)).to.deep.equal(["verdict:carol", "identity:dave", "limit:erin"]);
    expect(lines[0]).to.deep.include({
      real: {
        verdict: "allow",
        reason: lines[0]!.real && (lines[0]!.real as { reason: string }).reason,
        user: { userId: "carol", maxSessions: 2 },
      },
    });
    expect((lines[0]!.shadow as { verdict: string }).verdict).to.equal("deny");
    expect(JSON.stringify(lines), "no query in the lines").to.not.include("user=");
  });

  it("a slow shadow does not slow the checks: it is not awaited", async () => {
    allowUsers(real);
    allowUsers(shadow, {}, 0);
    const timed = async (n: number) => {
      const started = performance.now();
      for (let i = 0; i < n; i++) await auth.chain.decide(authRequest({ query: `user=fast${i}` }));
      return (performance.now() - started) / n;
    };
    await timed(3); // warm the pools
    const withFastShadowMs = await timed(5);
    const shadowDelayMs = 1500;
    allowUsers(shadow, {}, shadowDelayMs);
    const withSlowShadowMs = await timed(5);
    // A check that waited for the shadow would take at least its 1.5 s; generous against a busy machine.
    expect(withSlowShadowMs, `fast shadow ${withFastShadowMs.toFixed(1)} ms`).to.be.below(shadowDelayMs / 3);
    expect(withSlowShadowMs).to.be.below(Math.max(withFastShadowMs * 10, 200));
  });

  it("is refused without auth.backend, naming the key", () => {
    expect(() =>
      parseConfig(pluginConfigSchema, { auth: { shadowBackend: { type: "http-request", url: "http://127.0.0.1:1/" } } }),
    ).to.throw(/auth\.shadowBackend/);
  });
});
