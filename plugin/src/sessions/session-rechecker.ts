import { recheckOf } from "../core/auth-request.js";
import type { AuthChain } from "../chain/auth-chain.js";
import type { Decision } from "../core/decision.js";
import { guarded } from "../core/guarded.js";
import type { Logger } from "../core/log.js";
import type { SessionStore } from "../core/session-store.js";
import type { ViewerSession } from "../core/viewer-session.js";
import type { SessionExpiry } from "./session-expiry.js";

/**
 * Re-asks the chain about long-lived sessions (RTMP, FLV and HLS alike) when their verdict expires:
 * after the deciding step's TTL (a backend's `X-AuthDuration`), else after the configured interval.
 * A deny on re-check closes the session (as `expired` when its credential's end has passed); an allow
 * renews it, its credential's end (`validUntilMs`) included, which `expiry` then follows.
 */
export class SessionRechecker {
  readonly #chain: AuthChain;
  readonly #registry: SessionStore;
  readonly #intervalSec: number;
  readonly #log: Logger;
  readonly #expiry: SessionExpiry | undefined;
  readonly #unsubscribe: () => void;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #onEnded = (session: ViewerSession) => this.#cancel(session.id);

  constructor(chain: AuthChain, registry: SessionStore, intervalSec: number, log: Logger, expiry?: SessionExpiry) {
    this.#expiry = expiry;
    this.#chain = chain;
    this.#registry = registry;
    this.#intervalSec = intervalSec;
    this.#log = log;
    this.#unsubscribe = registry.subscribe("ended", this.#onEnded);
  }

  /** Schedules the next re-check of a playing session after an allow. */
  schedule(session: ViewerSession, decision: Decision): void {
    this.#cancel(session.id);
    const ttlSec = decision.verdict === "allow" && decision.ttlSec !== undefined ? decision.ttlSec : this.#intervalSec;
    if (ttlSec <= 0 || session.state === "ended") return;
    const timer = setTimeout(
      guarded(this.#log, "session.recheck_failed", () => this.#recheck(session)),
      ttlSec * 1000,
    );
    timer.unref();
    this.#timers.set(session.id, timer);
  }

  /**
   * Re-checks a playing session at once instead of at its next due time: used when the operator changes
   * what the session was allowed on (a user's packages, IPs, tokens or expiry).
   */
  recheckNow(session: ViewerSession): Promise<void> {
    this.#cancel(session.id);
    return this.#recheck(session);
  }

  async #recheck(session: ViewerSession): Promise<void> {
    this.#timers.delete(session.id);
    const previous = session.request;
    if (session.state !== "playing" || previous === undefined) return;
    const request = recheckOf(previous);
    this.#registry.renew(session, { request });
    let decision: Decision;
    try {
      decision = await this.#chain.decide(request);
    } catch (error) {
      // The chain turns a failing step into a deny itself; this is a fault around it. Fail closed: a
      // session nobody could re-check must not play on unchecked.
      if (session.state !== "playing") return;
      this.#log.error({ event: "session.recheck_failed", sessionId: session.id, err: error }, "re-check failed; closing the session");
      this.#registry.close(session, "denied-on-recheck");
      return;
    }
    if (session.state !== "playing") return;
    if (decision.verdict === "deny") {
      this.#log.info(
        { event: "session.recheck_denied", sessionId: session.id, step: decision.step, reason: decision.reason },
        "session denied on re-check; closing",
      );
      // A credential that ended is refused by its step too: the session ends for its end, not for a new refusal.
      this.#registry.close(session, this.#expiry?.hasEnded(session) === true ? "expired" : "denied-on-recheck");
      return;
    }
    // The same viewer may now be someone else to the chain (a backend's new X-UserId, a renamed session).
    this.#registry.renew(session, {
      request,
      ...(decision.user === undefined ? {} : { identity: decision.user }),
      validity: { until: decision.validUntilMs },
    });
    this.#expiry?.track(session);
    this.schedule(session, decision);
  }

  #cancel(id: string): void {
    const timer = this.#timers.get(id);
    if (timer !== undefined) clearTimeout(timer);
    this.#timers.delete(id);
  }

  /** Stops every pending re-check. */
  close(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#unsubscribe();
  }
}
