import type { Authorizer } from "../core/authorizer.js";
import type { AuthRequest } from "../core/auth-request.js";
import type { SessionIdentity } from "../core/decision.js";
import { stepLoop, type DecidingVerdict } from "./step-loop.js";

/** The runner's final word: the step that decided (`default` when every step passed) and its verdict. */
export interface SyncRunnerDecision<Name extends string> {
  readonly step: Name | "default";
  readonly verdict: DecidingVerdict;
  /** A vetoed allow's identity (the deny then names the vetoing step). */
  readonly user?: SessionIdentity;
}

/**
 * SyncStepRunner runs steps that answer synchronously (the publish steps: the host asks in the same turn
 * as its publish event, before the publisher's first packet can be forwarded) through the same step loop
 * as the play chain (`chain/step-loop.ts`): the first allow or deny wins, a pass goes on, `defaultVerdict`
 * when every step passed. It writes no log line and emits no event: whoever asks audits the decision
 * (a publish: `publish.decision`, publish/publish-audit.ts), so the play chain's `auth.decision` lines
 * and metrics see plays only.
 *
 * A step that throws makes `decide` throw (the caller refuses: a host's publish gate cuts the publisher
 * and logs `publish.hook_failed`); a step that answers with a promise is a programming error and throws
 * too, since nothing may wait here.
 */
export class SyncStepRunner<Name extends string> {
  readonly #steps: readonly Authorizer<Name>[];
  readonly #defaultVerdict: DecidingVerdict;

  constructor(steps: readonly Authorizer<Name>[], defaultVerdict: DecidingVerdict) {
    this.#steps = steps;
    this.#defaultVerdict = defaultVerdict;
  }

  /** The steps in the order they run, for diagnostics. */
  get stepNames(): Name[] {
    return this.#steps.map((s) => s.name);
  }

  /**
   * The decision on one request, in this call. Each step's `decide` is called here, not through a
   * helper, so a verdict is one call from this method (docs/architecture.md counts hops).
   */
  decide(request: AuthRequest): SyncRunnerDecision<Name> {
    const loop = stepLoop(this.#steps, request);
    let next = loop.next();
    while (!next.done) {
      const step = next.value;
      const verdict = step.decide(request);
      if (verdict instanceof Promise) {
        verdict.catch(() => undefined); // nobody awaits it: its rejection must not surface as unhandled
        throw new Error(`step ${step.name} answered with a promise; this runner's steps must decide synchronously`);
      }
      next = loop.next({ verdict });
    }
    const end = next.value;
    switch (end.end) {
      case "decided":
        return { step: end.step, verdict: end.verdict };
      case "vetoed":
        return { step: end.step, verdict: { verdict: "deny", reason: end.reason }, ...(end.user ? { user: end.user } : {}) };
      // Not reached: this runner lets a step's throw propagate instead of handing it to the loop.
      case "failed":
        throw end.error;
      case "passed":
        return { step: "default", verdict: this.#defaultVerdict };
    }
  }
}
