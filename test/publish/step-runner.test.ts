import { expect } from "chai";
import { AuthChain } from "../../plugin/src/chain/auth-chain.js";
import { SyncStepRunner } from "../../plugin/src/chain/sync-step-runner.js";
import type { Authorizer } from "../../plugin/src/core/authorizer.js";
import type { AuthRequest } from "../../plugin/src/core/auth-request.js";
import { allow, deny, PASS, type StepName, type StepVerdict } from "../../plugin/src/core/decision.js";
import { authRequest } from "../helpers/auth-requests.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";

/** A step that answers what it is told and records that it ran. */
class FixedStep<Name extends string> implements Authorizer<Name> {
  readonly calls: AuthRequest[] = [];
  constructor(
    readonly name: Name,
    private readonly answer: StepVerdict | (() => StepVerdict | Promise<StepVerdict>),
  ) {}
  decide(request: AuthRequest): StepVerdict | Promise<StepVerdict> {
    this.calls.push(request);
    return typeof this.answer === "function" ? this.answer() : this.answer;
  }
}

/** A step that passes and vetoes any later allow naming `userId`. */
class VetoStep<Name extends string> extends FixedStep<Name> {
  constructor(
    name: Name,
    private readonly userId: string,
  ) {
    super(name, PASS);
  }
  vetoAllow(_request: AuthRequest, user: { userId?: string } | undefined): string | null {
    return user?.userId === this.userId ? `user ${this.userId} is revoked` : null;
  }
}

const DEFAULT_DENY = { verdict: "deny", reason: "nobody decided", detail: "every step passed" } as const;

describe("SyncStepRunner: the step loop, synchronously", () => {
  const request = authRequest();

  it("runs the steps in order: the first allow or deny wins and later steps do not run", () => {
    const first = new FixedStep("a", PASS);
    const second = new FixedStep("b", deny("second says no"));
    const third = new FixedStep("c", allow("never asked"));
    const runner = new SyncStepRunner([first, second, third], DEFAULT_DENY);
    expect(runner.stepNames).to.deep.equal(["a", "b", "c"]);
    expect(runner.decide(request)).to.deep.equal({ step: "b", verdict: { verdict: "deny", reason: "second says no" } });
    expect(first.calls).to.deep.equal([request]);
    expect(second.calls).to.deep.equal([request]);
    expect(third.calls).to.deep.equal([]);
  });

  it("gives the default, as step `default`, when every step passes (and with no steps at all)", () => {
    const runner = new SyncStepRunner([new FixedStep("a", PASS), new FixedStep("b", PASS)], DEFAULT_DENY);
    expect(runner.decide(request)).to.deep.equal({ step: "default", verdict: DEFAULT_DENY });
    expect(new SyncStepRunner<"a">([], { verdict: "allow", reason: "open" }).decide(request)).to.deep.equal({
      step: "default",
      verdict: { verdict: "allow", reason: "open" },
    });
  });

  it("keeps a step's verdict as it is, detail and identity included", () => {
    const verdict = { verdict: "allow", reason: "signed", detail: "valid until then", user: { userId: "u1" } } as const;
    expect(new SyncStepRunner([new FixedStep("a", verdict)], DEFAULT_DENY).decide(request)).to.deep.equal({ step: "a", verdict });
  });

  it("puts an allow to the vetoes of the steps that passed before it, not of those after it", () => {
    const runner = new SyncStepRunner(
      [new VetoStep("revoked", "mallory"), new FixedStep("users", allow("password", { userId: "mallory" }))],
      DEFAULT_DENY,
    );
    expect(runner.decide(request)).to.deep.equal({
      step: "revoked",
      verdict: { verdict: "deny", reason: "user mallory is revoked" },
      user: { userId: "mallory" },
    });
    const other = new SyncStepRunner(
      [new VetoStep("revoked", "mallory"), new FixedStep("users", allow("password", { userId: "alice" }))],
      DEFAULT_DENY,
    );
    expect(other.decide(request)).to.deep.include({ step: "users" });
    const after = new SyncStepRunner(
      [new FixedStep("users", allow("password", { userId: "mallory" })), new VetoStep("revoked", "mallory")],
      DEFAULT_DENY,
    );
    expect(after.decide(request)).to.deep.include({ step: "users" });
  });

  it("throws what a step throws, and refuses a step that answers with a promise (without an unhandled rejection)", async () => {
    const failing = new SyncStepRunner(
      [
        new FixedStep("a", () => {
          throw new Error("step broke");
        }),
      ],
      DEFAULT_DENY,
    );
    expect(() => failing.decide(request)).to.throw("step broke");
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const asynchronous = new SyncStepRunner([new FixedStep("a", () => Promise.reject(new Error("late")))], DEFAULT_DENY);
      expect(() => asynchronous.decide(request)).to.throw("step a answered with a promise");
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
    expect(unhandled).to.deep.equal([]);
  });

  it("decides as AuthChain does on the same steps: one loop behind both runners", async () => {
    const scripts: [string, StepVerdict[]][] = [
      ["first deny wins", [PASS, deny("no"), allow("yes")]],
      ["first allow wins", [allow("yes", { name: "n" }), deny("no")]],
      ["all pass", [PASS, PASS]],
    ];
    const names: StepName[] = ["ip-deny", "users", "securetoken"];
    for (const [what, verdicts] of scripts) {
      const steps = () => verdicts.map((v, i) => new FixedStep(names[i]!, v));
      const sync = new SyncStepRunner(steps(), { verdict: "deny", reason: "no step decided; default is deny" }).decide(request);
      const chained = await new AuthChain(steps(), "deny", createCapturingLogger().logger).decide(request);
      expect({ step: chained.step, verdict: chained.verdict, reason: chained.reason }, what).to.deep.equal({
        step: sync.step,
        verdict: sync.verdict.verdict,
        reason: sync.verdict.reason,
      });
    }
    // The veto, through both.
    const vetoSteps = () => [
      new VetoStep<StepName>("revoked", "mallory"),
      new FixedStep<StepName>("users", allow("password", { userId: "mallory" })),
    ];
    const chained = await new AuthChain(vetoSteps(), "deny", createCapturingLogger().logger).decide(request);
    expect(chained).to.deep.include({ verdict: "deny", step: "revoked", reason: "user mallory is revoked", user: { userId: "mallory" } });
    expect(new SyncStepRunner(vetoSteps(), DEFAULT_DENY).decide(request)).to.deep.include({ step: "revoked", user: { userId: "mallory" } });
  });
});

describe("AuthChain on the shared step loop", () => {
  it("denies with the failing step's name when a step throws or rejects, logs auth.step_failed, and runs no later step", async () => {
    const log = createCapturingLogger();
    const later = new FixedStep<StepName>("backend", allow("never asked"));
    const chain = new AuthChain(
      [new FixedStep<StepName>("custom", () => Promise.reject(new Error("custom broke"))), later],
      "allow",
      log.logger,
    );
    const decision = await chain.decide(authRequest());
    expect(decision).to.deep.include({ verdict: "deny", step: "custom", reason: "step custom failed: custom broke" });
    expect(later.calls).to.deep.equal([]);
    expect(log.events("auth.step_failed")).to.have.length(1);
    expect(log.events("auth.decision")[0]).to.include({ step: "custom", verdict: "deny" });
  });

  it("times every step that answered and applies its default when all pass", async () => {
    const chain = new AuthChain(
      [new FixedStep<StepName>("ip-deny", PASS), new FixedStep<StepName>("users", () => Promise.resolve(PASS))],
      "allow",
      createCapturingLogger().logger,
    );
    const timed: string[] = [];
    chain.on("step", (name) => timed.push(name));
    expect(await chain.decide(authRequest())).to.deep.include({
      verdict: "allow",
      step: "default",
      reason: "no step decided; default is allow",
    });
    expect(timed).to.deep.equal(["ip-deny", "users"]);
  });
});
