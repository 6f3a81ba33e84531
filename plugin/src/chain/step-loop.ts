import type { Authorizer } from "../core/authorizer.js";
import type { AuthRequest } from "../core/auth-request.js";
import type { SessionIdentity, StepVerdict } from "../core/decision.js";

/** A step's answer as the runner got it: its verdict, or what it threw (or its promise rejected with). */
export type StepAnswer = { readonly verdict: StepVerdict } | { readonly failed: unknown };

/** An allow or a deny. */
export type DecidingVerdict = Exclude<StepVerdict, { verdict: "pass" }>;

/**
 * How the loop ended:
 * - `decided`: the first step that allowed or denied;
 * - `vetoed`: a step allowed, and an earlier step's `vetoAllow` refused the identity it named; `step` is
 *   the vetoing step, `user` the identity the allow named;
 * - `failed`: a step threw, `error` is what;
 * - `passed`: every step passed; the runner's default applies.
 */
export type LoopEnd<Name extends string> =
  | { readonly end: "decided"; readonly step: Name; readonly verdict: DecidingVerdict }
  | { readonly end: "vetoed"; readonly step: Name; readonly reason: string; readonly user?: SessionIdentity }
  | { readonly end: "failed"; readonly step: Name; readonly error: unknown }
  | { readonly end: "passed" };

/**
 * The step loop every chain runs, play and publish alike: the steps in order, the first allow or deny
 * ends it, a pass goes on to the next step, an allow is first put to the `vetoAllow` of the steps that
 * passed before it, a step that failed ends it. It yields each step to run and takes back its answer:
 * the runner calls `step.decide` itself, synchronously (`SyncStepRunner`) or awaiting a promise
 * (`AuthChain`). So there is one loop for both, and a step's verdict stays one call from the runner's
 * `decide` (the hop count of docs/architecture.md). Pure: no clock, no log, no I/O.
 *
 * A runner drives it as: `let next = loop.next(); while (!next.done) next = loop.next(answerOf(next.value));`.
 */
export function* stepLoop<Name extends string>(
  steps: readonly Authorizer<Name>[],
  request: AuthRequest,
): Generator<Authorizer<Name>, LoopEnd<Name>, StepAnswer> {
  // Steps that ran and may veto a later step's allow on its identity (the `revoked` step).
  let vetoes: Authorizer<Name>[] | undefined;
  for (const step of steps) {
    const answer = yield step;
    if ("failed" in answer) return { end: "failed", step: step.name, error: answer.failed };
    const verdict = answer.verdict;
    if (verdict.verdict === "allow" && vetoes !== undefined) {
      for (const vetoing of vetoes) {
        const reason = vetoing.vetoAllow!(request, verdict.user);
        if (reason !== null) return { end: "vetoed", step: vetoing.name, reason, ...(verdict.user ? { user: verdict.user } : {}) };
      }
    }
    if (verdict.verdict !== "pass") return { end: "decided", step: step.name, verdict };
    if (step.vetoAllow !== undefined) (vetoes ??= []).push(step);
  }
  return { end: "passed" };
}
