import type { Clock } from "../core/clock.js";
import type { PublishConfig } from "./publish-schema.js";
import type { LocalProcesses } from "../net/process-proof.js";
import type { SyncStepRunner } from "../chain/sync-step-runner.js";
import { buildPublishChain } from "./build-publish-chain.js";
import { publishDecisionOf, type PublishAttempt, type PublishDecision, type PublishStepName } from "./publish-decision.js";
import { publishRequestOf } from "./publish-request.js";

export {
  PUBLISH_ALLOW_REASONS,
  PUBLISH_DENY_REASONS,
  type PublishAttempt,
  type PublishDecision,
  type PublishReason,
} from "./publish-decision.js";

/**
 * PublishPolicy decides who may publish: the host's report becomes the publish's `AuthRequest`
 * (publish-request.ts), the publish chain's steps (build-publish-chain.ts) decide it through the same
 * step loop as plays, and the verdict becomes a `PublishDecision` (a reason that labels a metric, a
 * detail for the audit log). It decides nothing itself. Synchronous: a host asks it in the same turn
 * as its own publish event, before the publisher's first packet can be forwarded.
 */
export class PublishPolicy {
  readonly #chain: SyncStepRunner<PublishStepName>;

  constructor(config: PublishConfig, clock: Clock, internalProcesses?: LocalProcesses) {
    this.#chain = buildPublishChain(config, clock, internalProcesses);
  }

  /** The steps in the order they run, for diagnostics. */
  get stepNames(): PublishStepName[] {
    return this.#chain.stepNames;
  }

  decide(attempt: PublishAttempt): PublishDecision {
    return publishDecisionOf(this.#chain.decide(publishRequestOf(attempt)));
  }
}
