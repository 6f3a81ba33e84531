import { EventEmitter } from "node:events";
import { performance } from "node:perf_hooks";
import type { Authorizer } from "../core/authorizer.js";
import type { AuthRequest } from "../core/auth-request.js";
import type { Decision, SessionIdentity, StepName, StepVerdict } from "../core/decision.js";
import type { Logger } from "../core/log.js";
import { stepLoop, type LoopEnd, type StepAnswer } from "./step-loop.js";

/** One step as an explain saw it: its verdict (`pass` included), its reason and how long it took. */
export interface StepTrace {
  readonly step: StepName;
  readonly verdict: StepVerdict["verdict"] | "failed";
  readonly reason: string;
  readonly ms: number;
  /** The identity an allow named. */
  readonly user?: SessionIdentity;
}

/** The verdict the chain gives when every step passes. */
export type DefaultAction = "allow" | "deny";

/**
 * AuthChain runs the steps in order; the first that allows or denies ends the chain, and when all
 * pass the configured default applies. `decide` never rejects: a step that throws denies, logged at
 * error level. Each decision is logged as one `auth.decision` line without any credential in it.
 */
export interface AuthChainEvents {
  /** Every final decision (metrics, audit). */
  decision: [AuthRequest, Decision];
  /** Every step that ran, with how long it took in seconds (metrics: backend latency). */
  step: [StepName, number];
}

export class AuthChain extends EventEmitter<AuthChainEvents> {
  readonly #steps: readonly Authorizer[];
  #defaultAction: DefaultAction;
  readonly #log: Logger;

  constructor(steps: readonly Authorizer[], defaultAction: DefaultAction, log: Logger) {
    super();
    this.#steps = steps;
    this.#defaultAction = defaultAction;
    this.#log = log;
  }

  /** The verdict when every step passes. */
  get defaultAction(): DefaultAction {
    return this.#defaultAction;
  }

  /** Changes the default verdict for the checks that start from now on (a configuration reload). */
  set defaultAction(action: DefaultAction) {
    this.#defaultAction = action;
  }

  /** The steps in the order they run, for diagnostics. */
  get stepNames(): StepName[] {
    return this.#steps.map((s) => s.name);
  }

  /** The step with that name, if the chain has it. */
  step(name: StepName): Authorizer | undefined {
    return this.#steps.find((s) => s.name === name);
  }

  /**
   * The chain's decision on one request. It drives the shared step loop (`chain/step-loop.ts`, which
   * picks the next step and ends the loop) and calls each step's `decide` itself rather than through a
   * helper: a request reaches a step's verdict in two calls from the gate (`decide`, then `step.decide`),
   * which keeps every protocol's path at five hops or fewer (docs/architecture.md).
   *
   * With `trace`, each step that ran is appended to it (an explain). A request with `dryRun` is decided
   * by the same loop and steps, but the chain writes no `auth.decision` line and emits no event: metrics,
   * the console's decision log and the brute-force count of unaccepted tokens never see it.
   */
  async decide(request: AuthRequest, trace?: StepTrace[]): Promise<Decision> {
    const started = performance.now();
    const loop = stepLoop(this.#steps, request);
    let next = loop.next();
    while (!next.done) {
      const step = next.value;
      let answer: StepAnswer;
      const stepStarted = performance.now();
      try {
        const verdict = step.decide(request);
        answer = { verdict: verdict instanceof Promise ? await verdict : verdict };
        if (request.dryRun === undefined) this.emit("step", step.name, (performance.now() - stepStarted) / 1000);
      } catch (error) {
        this.#log.error(
          { event: "auth.step_failed", sessionId: request.sessionId, step: step.name, err: error },
          "authorization step failed; denying",
        );
        answer = { failed: error };
      }
      trace?.push(traceOf(step.name, answer, performance.now() - stepStarted));
      next = loop.next(answer);
    }
    const decision = this.#decisionOf(next.value, started);
    if (request.dryRun !== undefined) return decision;
    this.#logDecision(request, decision);
    this.emit("decision", request, decision);
    return decision;
  }

  /** The chain's decision from how the step loop ended. */
  #decisionOf(end: LoopEnd<StepName>, started: number): Decision {
    const latencyMs = performance.now() - started;
    switch (end.end) {
      case "decided": {
        const verdict = end.verdict;
        if (verdict.verdict === "allow") {
          return {
            verdict: "allow",
            step: end.step,
            reason: verdict.reason,
            latencyMs,
            ...(verdict.user ? { user: verdict.user } : {}),
            ...(verdict.ttlSec !== undefined ? { ttlSec: verdict.ttlSec } : {}),
            ...(verdict.validUntilMs !== undefined ? { validUntilMs: verdict.validUntilMs } : {}),
            ...(verdict.uses !== undefined ? { uses: verdict.uses } : {}),
          };
        }
        return {
          verdict: "deny",
          step: end.step,
          reason: verdict.reason,
          latencyMs,
          ...(verdict.redirectUrl ? { redirectUrl: verdict.redirectUrl } : {}),
          ...(verdict.code !== undefined ? { code: verdict.code } : {}),
          ...(verdict.subject !== undefined ? { subject: verdict.subject } : {}),
        };
      }
      case "vetoed":
        return { verdict: "deny", step: end.step, reason: end.reason, latencyMs, ...(end.user ? { user: end.user } : {}) };
      case "failed":
        return { verdict: "deny", step: end.step, reason: `step ${end.step} failed: ${errorMessage(end.error)}`, latencyMs };
      case "passed":
        return { verdict: this.#defaultAction, step: "default", reason: `no step decided; default is ${this.#defaultAction}`, latencyMs };
    }
  }

  #logDecision(request: AuthRequest, decision: Decision): void {
    const line = {
      event: "auth.decision",
      sessionId: request.sessionId,
      protocol: request.protocol,
      purpose: request.purpose,
      app: request.app,
      channel: request.channel,
      ip: request.ip,
      step: decision.step,
      verdict: decision.verdict,
      reason: decision.reason,
      ...(decision.verdict === "deny" && decision.code !== undefined ? { code: decision.code } : {}),
      latencyMs: Math.round(decision.latencyMs * 1000) / 1000,
      ...(decision.user ? { user: decision.user.userId ?? decision.user.name } : {}),
    };
    this.#log.info(line, decision.verdict === "allow" ? "viewer allowed" : "viewer denied");
  }

  /** Starts every step's timers and files (`Authorizer.start`): building a chain opens nothing. Resolves when every step has. */
  start(): Promise<void> {
    return Promise.all(this.#steps.map((step) => step.start?.())).then(() => undefined);
  }

  /** Every step reads its files again (`Authorizer.reload`): SIGHUP and configuration reloads. */
  reloadFiles(): void {
    for (const step of this.#steps) step.reload?.();
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.#steps.map((s) => s.close?.()));
  }
}

function traceOf(step: StepName, answer: StepAnswer, ms: number): StepTrace {
  const rounded = Math.round(ms * 1000) / 1000;
  if ("failed" in answer) return { step, verdict: "failed", reason: errorMessage(answer.failed), ms: rounded };
  const { verdict } = answer;
  if (verdict.verdict === "pass") return { step, verdict: "pass", reason: "", ms: rounded };
  return {
    step,
    verdict: verdict.verdict,
    reason: verdict.reason,
    ms: rounded,
    ...(verdict.verdict === "allow" && verdict.user !== undefined ? { user: verdict.user } : {}),
  };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
