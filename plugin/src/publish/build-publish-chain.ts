import type { Clock } from "../core/clock.js";
import type { PublishConfig } from "./publish-schema.js";
import type { LocalProcesses } from "../net/process-proof.js";
import { SyncStepRunner } from "../chain/sync-step-runner.js";
import { AllowedAddressStep } from "./allowed-address-step.js";
import { ChannelLiveStep } from "./channel-live-step.js";
import { InternalPublishStep } from "./internal-publish-step.js";
import { publishDeny, type PublishStepName } from "./publish-decision.js";
import { SignedPublishStep } from "./signed-publish-step.js";

/** What the publish chain answers when every step passed. */
export const PUBLISH_DEFAULT = publishDeny("not-allowed", "address not on publish.allowIps and no publish signature");

/**
 * The publish chain from the `publish` section, its steps in this order:
 * 1. `channel-live`: a name that is live already is refused, whoever asks;
 * 2. `internal`: the server's own ingest, proven from /proc, is let in;
 * 3. `allowed-address`: an address on `publish.allowIps` is let in;
 * 4. `signed`: a publish link in the `publish.securetoken` format is checked;
 * then everyone else is refused (`not-allowed`).
 * Synchronous, like the hook that asks it: the steps run in the host's own publish event, before the
 * publisher's first packet can be forwarded.
 */
export function buildPublishChain(
  config: PublishConfig,
  clock: Clock,
  internalProcesses?: LocalProcesses,
): SyncStepRunner<PublishStepName> {
  return new SyncStepRunner<PublishStepName>(
    [
      new ChannelLiveStep(),
      new InternalPublishStep(internalProcesses),
      new AllowedAddressStep(config.allowIps),
      new SignedPublishStep(config.securetoken, clock),
    ],
    PUBLISH_DEFAULT,
  );
}
