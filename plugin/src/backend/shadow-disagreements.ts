import { LRUCache } from "lru-cache";
import type { AuthRequest } from "../core/auth-request.js";
import type { SessionIdentity, StepVerdict } from "../core/decision.js";
import type { Logger } from "../core/log.js";

/** What a shadow backend can disagree on: allow against deny, the identity named, the session limit. */
export const DISAGREEMENT_KINDS = ["verdict", "identity", "limit"] as const;
export type DisagreementKind = (typeof DISAGREEMENT_KINDS)[number];

/** (kind, subject) pairs remembered as already logged, at most; the oldest are forgotten (and may be logged again). */
const LOGGED_MAX = 10_000;

/**
 * Compares the shadow backend's answers with the real backend's (`auth.shadowBackend`): each
 * disagreement is counted (`va_shadow_disagreements_total{kind}`) and logged once per (kind, subject)
 * as `backend.shadow_disagreement` with both answers (verdict, reason, identity; never the query). The
 * subject is the user either answer named, else the viewer's address. The shadow never decides:
 * `watch` is handed its answer's promise and returns at once.
 */
export class ShadowDisagreements {
  readonly #log: Logger;
  readonly #logged = new LRUCache<string, true>({ max: LOGGED_MAX });
  readonly counts: Record<DisagreementKind, number> = { verdict: 0, identity: 0, limit: 0 };

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Compares once the shadow answers; a shadow that fails or throws is logged at debug level and compared with nothing. */
  watch(request: AuthRequest, real: StepVerdict, shadow: Promise<StepVerdict>): void {
    shadow.then(
      (answer) => this.compare(request, real, answer),
      (error: unknown) =>
        this.#log.debug(
          { event: "backend.shadow_failed", err: error instanceof Error ? error.name : typeof error },
          "shadow backend failed",
        ),
    );
  }

  /** Counts and logs what the two answers disagree on. */
  compare(request: AuthRequest, real: StepVerdict, shadow: StepVerdict): void {
    if (real.verdict === "pass" || shadow.verdict === "pass") return;
    const realUser = real.verdict === "allow" ? real.user : undefined;
    const shadowUser = shadow.verdict === "allow" ? shadow.user : undefined;
    const kinds: DisagreementKind[] = [];
    if (real.verdict !== shadow.verdict) kinds.push("verdict");
    else if (real.verdict === "allow") {
      if (realUser?.userId !== shadowUser?.userId || realUser?.name !== shadowUser?.name) kinds.push("identity");
      if (realUser?.maxSessions !== shadowUser?.maxSessions) kinds.push("limit");
    }
    if (kinds.length === 0) return;
    const subject = whoOf(realUser) ?? whoOf(shadowUser) ?? request.ip;
    for (const kind of kinds) {
      this.counts[kind]++;
      const key = `${kind}\0${subject}`;
      if (this.#logged.has(key)) continue;
      this.#logged.set(key, true);
      this.#log.warn(
        {
          event: "backend.shadow_disagreement",
          kind,
          subject,
          app: request.app,
          channel: request.channel,
          ip: request.ip,
          real: answerOf(real),
          shadow: answerOf(shadow),
        },
        `shadow backend disagrees (${kind}); logged once per ${kind} and subject`,
      );
    }
  }
}

function whoOf(user: SessionIdentity | undefined): string | undefined {
  return user?.userId ?? user?.name;
}

function answerOf(verdict: Exclude<StepVerdict, { verdict: "pass" }>): Record<string, unknown> {
  return verdict.verdict === "allow"
    ? { verdict: "allow", reason: verdict.reason, ...(verdict.user === undefined ? {} : { user: verdict.user }) }
    : { verdict: "deny", reason: verdict.reason };
}
