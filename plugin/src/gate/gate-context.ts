import type { AuthChain } from "../chain/auth-chain.js";
import type { AuthRequest } from "../core/auth-request.js";
import type { Decision } from "../core/decision.js";
import type { Logger } from "../core/log.js";
import type { AddressRules } from "../net/address-rules.js";
import type { SessionLimiter } from "../sessions/session-limiter.js";
import type { SessionRechecker } from "../sessions/session-rechecker.js";
import type { SessionExpiry } from "../sessions/session-expiry.js";
import type { UseCounter } from "../core/use-counter.js";
import type { RevocationList } from "../sessions/revocation-list.js";
import type { SessionStore } from "../core/session-store.js";
import type { ViewerSession } from "../core/viewer-session.js";
import { endAdmission } from "./session-end.js";

/** What every gate (NMS play, HLS) shares: the chain and the session machinery. */
export interface GateContext {
  readonly chain: AuthChain;
  readonly registry: SessionStore;
  readonly limiter: SessionLimiter;
  readonly rechecker: SessionRechecker;
  /** Closes sessions whose credential ended (`validUntilMs`); absent in tests and benches that need none. */
  readonly expiry?: SessionExpiry;
  /** Counts the uses of credentials that have a number of uses (signed links with `maxUses`). */
  readonly linkUses?: UseCounter;
  /**
   * Revoked tokens, users and addresses, refused by the chain's `revoked` step until they lapse or are
   * lifted; here for the parts that apply revocations to live sessions (the management API, the cluster).
   */
  readonly revocations: RevocationList;
  /** Deny/allow lists and trusted proxies (whose X-Forwarded-For is believed); reloadable. */
  readonly addressRules: AddressRules;
  readonly log: Logger;
}

/**
 * Turns an allowed check into a playing session: applies the session limits (across every edge with a
 * cluster), then schedules the re-check. Returns the reason when it is refused (the caller then refuses
 * the viewer). Revocations are the chain's `revoked` step: an allow here was not revoked.
 */
export async function startPlaying(
  ctx: GateContext,
  viewer: ViewerSession,
  request: AuthRequest,
  decision: Decision & { verdict: "allow" },
): Promise<string | null> {
  if (decision.step === "internal") {
    ctx.registry.discard(viewer); // the server's own transcoder is not a viewer
    return null;
  }
  const admission = await ctx.limiter.admit(viewer, { identity: decision.user, request, validUntilMs: decision.validUntilMs });
  if (!admission.admitted) {
    ctx.log.info({ event: "session.limit_refused", sessionId: viewer.id, reason: admission.reason }, "viewer refused by session limit");
    endAdmission(ctx.registry, viewer, { kind: "limit", stage: decision.step, identity: decision.user });
    return admission.reason;
  }
  if (viewer.state === "playing") ctx.rechecker.schedule(viewer, decision);
  return null;
}
