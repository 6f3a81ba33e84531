import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { AuthChain, StepTrace } from "../chain/auth-chain.js";
import type { AuthRequest } from "../core/auth-request.js";
import type { Decision, SessionIdentity } from "../core/decision.js";
import type { Logger } from "../core/log.js";
import type { SessionStore } from "../core/session-store.js";
import { CACHE_ONLY_MISS_REASON } from "../backend/backend-authorizer.js";
import { playFieldsProblem } from "../gate/play-fields.js";
import { playRequestOf } from "../gate/play-request.js";
import type { HlsSessionKeys } from "../hls/hls-session-keys.js";
import type { AddressRules } from "../net/address-rules.js";
import { repeatedCredentialParam } from "../sessions/credential-key.js";
import type { LimitPreview, SessionLimiter } from "../sessions/session-limiter.js";
import type { UserStore } from "../users/user-store.js";
import { explainTargetOf, type ExplainInput, type ExplainTarget } from "./explain-target.js";

/** One stage of an explained play, in the order the real pipeline runs them. */
export interface ExplainStep {
  /** A chain step's name, or a stage of the pipeline around it: `input`, `hls-key`, `hls-gate`, `limits`. */
  readonly step: string;
  readonly verdict: "allow" | "deny" | "pass" | "failed" | "unknown";
  readonly reason: string;
  readonly ms: number;
}

/** Who the chain said the viewer is. */
export interface ExplainIdentity {
  readonly name?: string;
  readonly userId?: string;
  readonly maxSessions?: number;
  /** A built-in user's channels (from their packages): `all`, or the list. */
  readonly channels?: "all" | readonly string[];
}

/** What the session limits would do with the play. */
export interface ExplainLimits {
  /** Why a limit would refuse the play (`sessions.limitPolicy: reject-new`), or null. */
  readonly refusal: string | null;
  /** Each limit that applies: its count on this edge and what joining would do. */
  readonly limits: readonly LimitPreview[];
  /** HLS with a session key: the live session the request would be served under. */
  readonly joins: { readonly sessionId: string; readonly user?: string } | null;
  /** Sessions already playing this channel from this address (and, when identified, as this user). */
  readonly sameViewer: readonly string[];
  /** With a cluster, counts are this edge's own: the shared slots are only read by taking one. */
  readonly edgeOnly: boolean;
}

/** The answer of an explain. `unknown`: `cacheOnly` and the backend would have to be asked. */
export interface ExplainAnswer {
  readonly verdict: "allow" | "deny" | "unknown";
  readonly protocol: string;
  readonly app: string;
  readonly channel: string;
  readonly ip: string;
  /** The stage that decided (a chain step, `default`, `input`, `hls-key`, `hls-gate`, `limits`) and why. */
  readonly decidedBy: string;
  readonly reason: string;
  readonly redirectUrl?: string;
  readonly steps: readonly ExplainStep[];
  readonly identity: ExplainIdentity | null;
  readonly limits: ExplainLimits;
}

/** What the explainer reads: the running chain and session machinery, never a copy of them. */
export interface ExplainerDeps {
  readonly chain: AuthChain;
  readonly registry: SessionStore;
  readonly limiter: SessionLimiter;
  readonly addressRules: AddressRules;
  /** The HLS gate's live session keys, when there is an HLS gate. */
  readonly hlsKeys: () => HlsSessionKeys | undefined;
  readonly users: UserStore | undefined;
  /** True with a cluster: limits are then counted on this edge alone. */
  readonly clustered: boolean;
  readonly log: Logger;
}

/**
 * Answers "what would happen to this URL from this address" by running the real pipeline's parts in
 * dry-run mode: the same request builder as the admission pipeline (`playRequestOf`), the same input
 * rules, the running chain with `dryRun` set on the request (every step decides as for a real play and
 * changes nothing: docs/explain.md), the session limiter's `preview` and the HLS keys' `peek`. Opens no
 * session and writes nothing but its own `api.explain` audit line.
 */
export class Explainer {
  readonly #deps: ExplainerDeps;

  constructor(deps: ExplainerDeps) {
    this.#deps = deps;
  }

  /** The explain of one URL; throws an ExplainInputError for a URL or address that is no play. */
  async explain(input: ExplainInput): Promise<ExplainAnswer> {
    const target = explainTargetOf(input, this.#deps.addressRules.trustedProxies);
    const answer = await this.#explainTarget(target, input.cacheOnly === true);
    this.#deps.log.info(
      {
        event: "api.explain",
        protocol: answer.protocol,
        app: answer.app,
        channel: answer.channel,
        ip: answer.ip,
        verdict: answer.verdict,
        step: answer.decidedBy,
      },
      "explained a play (nothing changed)",
    );
    return answer;
  }

  async #explainTarget(target: ExplainTarget, cacheOnly: boolean): Promise<ExplainAnswer> {
    const base = { protocol: target.protocol, app: target.app, channel: target.channel, ip: target.fields.ip };
    const noLimits: ExplainLimits = { refusal: null, limits: [], joins: null, sameViewer: [], edgeOnly: this.#deps.clustered };
    const refused = (step: string, reason: string, steps: ExplainStep[] = []): ExplainAnswer => ({
      ...base,
      verdict: "deny",
      decidedBy: step,
      reason,
      steps: [...steps, { step, verdict: "deny", reason, ms: 0 }],
      identity: null,
      limits: noLimits,
    });
    if (target.protocol === "hls") {
      if (target.hlsKey !== undefined) return this.#explainKeyed(target, base, noLimits);
      if (!/\.(m3u8|mpd)$/.test(target.file ?? "")) return refused("hls-gate", "a segment is served only with its session key (403)");
    } else {
      // The hosts' play-field rules, checked again by the pipeline before a session opens.
      const problem = playFieldsProblem({
        app: target.app,
        channel: target.channel,
        userAgent: target.fields.userAgent,
        host: target.fields.host,
        origin: target.fields.origin,
      });
      if (problem !== null) return refused("input", `malformed ${problem.field}: ${problem.reason}`);
    }
    const request: AuthRequest = { ...playRequestOf(target, `explain-${randomBytes(8).toString("hex")}`), dryRun: { cacheOnly } };
    const repeated = repeatedCredentialParam(request.params);
    if (repeated !== undefined) return refused("input", `credential parameter "${repeated}" given more than once`);
    const trace: StepTrace[] = [];
    const decision = await this.#deps.chain.decide(request, trace);
    const steps: ExplainStep[] = trace.map(({ step, verdict, reason, ms }) => ({ step, verdict, reason, ms }));
    if (decision.step === "default") steps.push({ step: "default", verdict: decision.verdict, reason: decision.reason, ms: 0 });
    const identity = this.#identityOf(decision);
    const unknown = decision.step === "backend" && decision.reason === CACHE_ONLY_MISS_REASON;
    if (unknown) steps[steps.length - 1] = { ...steps[steps.length - 1]!, verdict: "unknown" };
    const limits = this.#limitsOf(target, decision);
    const answer = {
      ...base,
      verdict: unknown ? ("unknown" as const) : decision.verdict,
      decidedBy: decision.step as string,
      reason: decision.reason,
      ...(decision.verdict === "deny" && decision.redirectUrl !== undefined ? { redirectUrl: decision.redirectUrl } : {}),
      steps,
      identity,
      limits,
    };
    if (decision.verdict !== "allow" || decision.step === "internal") return answer;
    if (limits.refusal !== null) {
      steps.push({ step: "limits", verdict: "deny", reason: limits.refusal, ms: 0 });
      return { ...answer, verdict: "deny", decidedBy: "limits", reason: limits.refusal };
    }
    steps.push({ step: "limits", verdict: "allow", reason: limitsReason(limits.limits), ms: 0 });
    return answer;
  }

  /** A segment or keyed playlist: served under the live session its key names, or refused (403), without the chain. */
  #explainKeyed(
    target: ExplainTarget,
    base: Omit<ExplainAnswer, "verdict" | "decidedBy" | "reason" | "steps" | "identity" | "limits">,
    noLimits: ExplainLimits,
  ): ExplainAnswer {
    const started = performance.now();
    const keys = this.#deps.hlsKeys();
    const found = keys === undefined ? "unknown key" : keys.peek(target.hlsKey!, target.app, target.channel, target.fields.address);
    const ms = Math.round((performance.now() - started) * 1000) / 1000;
    if (typeof found === "string") {
      const reason = `session key refused: ${found} (403)`;
      return {
        ...base,
        verdict: "deny",
        decidedBy: "hls-key",
        reason,
        steps: [{ step: "hls-key", verdict: "deny", reason, ms }],
        identity: null,
        limits: noLimits,
      };
    }
    const viewer = found.viewer;
    const identity = viewer.identity;
    const user = identity?.userId ?? identity?.name;
    const reason = `joins live session ${viewer.id}`;
    return {
      ...base,
      verdict: "allow",
      decidedBy: "hls-key",
      reason,
      steps: [{ step: "hls-key", verdict: "allow", reason, ms }],
      identity: identity === undefined ? null : { ...identity },
      limits: { ...noLimits, joins: { sessionId: viewer.id, ...(user === undefined ? {} : { user }) } },
    };
  }

  #identityOf(decision: Decision): ExplainIdentity | null {
    const user: SessionIdentity | undefined = decision.user;
    if (user === undefined) return null;
    const builtIn = decision.step === "users" && user.userId !== undefined ? this.#deps.users?.directory.byLogin(user.userId) : undefined;
    return {
      ...user,
      ...(builtIn === undefined ? {} : { channels: builtIn.channels === "all" ? "all" : [...builtIn.channels].sort() }),
    };
  }

  #limitsOf(target: ExplainTarget, decision: Decision): ExplainLimits {
    const subject = { ip: target.fields.ip, app: target.app, channel: target.channel };
    const userId = decision.user?.userId;
    const sameViewer = this.#deps.registry
      .list({ state: "playing", ip: subject.ip, app: subject.app, channel: subject.channel, ...(userId === undefined ? {} : { userId }) })
      .map((session) => session.id);
    const preview =
      decision.verdict === "allow" && decision.step !== "internal"
        ? this.#deps.limiter.preview(subject, decision.user)
        : { refusal: null, limits: [] };
    return { ...preview, joins: null, sameViewer, edgeOnly: this.#deps.clustered };
  }
}

function limitsReason(limits: readonly LimitPreview[]): string {
  if (limits.length === 0) return "no session limit applies";
  return limits
    .map((limit) => `${limit.what}: ${limit.playing}/${limit.max}${limit.outcome === "close-oldest" ? ", oldest closed" : ""}`)
    .join("; ");
}
