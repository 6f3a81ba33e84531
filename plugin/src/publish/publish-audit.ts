import type { Logger } from "../core/log.js";
import type { PublishAttempt, PublishDecision } from "./publish-decision.js";
import type { PublishPolicy } from "./publish-policy.js";

/** A publish attempt as the audit log names it: the policy's fields and how the publisher connected. */
export interface AuditedPublishAttempt extends PublishAttempt {
  readonly protocol: NonNullable<PublishAttempt["protocol"]>;
}

/**
 * Wraps the policy so that every publish decision is written to the log (`publish.decision`: verdict,
 * reason, protocol, app, channel, address; never the query, which carries the signature) and handed
 * to `record` (the metrics), as play decisions are. `record` must not throw (guard it).
 */
export function auditedPublishPolicy(
  policy: PublishPolicy,
  log: Logger,
  record: (decision: PublishDecision) => void,
): (attempt: AuditedPublishAttempt) => PublishDecision {
  return function decidePublish(attempt) {
    const decision = policy.decide(attempt);
    log.info(
      {
        event: "publish.decision",
        verdict: decision.allow ? "allow" : "deny",
        reason: decision.reason,
        detail: decision.detail,
        protocol: attempt.protocol,
        app: attempt.app,
        channel: attempt.channel,
        ip: attempt.ip,
      },
      decision.allow ? "publisher allowed" : "publisher refused",
    );
    record(decision);
    return decision;
  };
}
