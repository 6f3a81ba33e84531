import type { DecidingVerdict } from "../chain/step-loop.js";
import type { SyncRunnerDecision } from "../chain/sync-step-runner.js";
import type { TcpEndpoints } from "../net/process-proof.js";

/**
 * A publisher that starts, as a host reports it (the fields of `PublishStart` in
 * hosts/host-adapter.ts the publish chain reads; that type fits here as it is): decoded once where the
 * publish enters, the address already resolved behind trusted proxies. `publishRequestOf`
 * (publish-request.ts) makes the `AuthRequest` the steps get from it.
 */
export interface PublishAttempt {
  readonly app: string;
  readonly channel: string;
  /** The publisher's address as text (behind a trusted proxy, the one it reports); "" when unknown. */
  readonly ip: string;
  /** The publish URL's query parameters, first value of each key. */
  readonly query: Readonly<Record<string, string>>;
  /** True when the name already has a live publisher (hosts that know it say so). */
  readonly live?: boolean;
  /** How the publisher connected; the internal publish is proven for RTMP only. */
  readonly protocol?: "rtmp" | "flv" | "ws-flv";
  /** An RTMP publisher's TCP ports, for the proof of the server's own ingest (hosts that know them say so). */
  readonly connection?: TcpEndpoints;
}

/** The publish chain's steps, in the order they run (publish/build-publish-chain.ts). */
export const PUBLISH_STEP_NAMES = ["channel-live", "internal", "allowed-address", "signed"] as const;
export type PublishStepName = (typeof PUBLISH_STEP_NAMES)[number];

/** Why a publisher was let in: a closed set, so it can label a metric. */
export const PUBLISH_ALLOW_REASONS = ["internal", "allowed-address", "signed"] as const;
/** Why a publisher was refused. */
export const PUBLISH_DENY_REASONS = [
  "channel-live",
  "signature-malformed",
  "signature-forged",
  "signature-expired",
  "signature-not-yet-valid",
  "not-allowed",
] as const;
export type PublishReason = (typeof PUBLISH_ALLOW_REASONS)[number] | (typeof PUBLISH_DENY_REASONS)[number];

/** The publish chain's answer: `reason` labels the metric, `detail` says more in the audit log (never a secret). */
export interface PublishDecision {
  readonly allow: boolean;
  readonly reason: PublishReason;
  readonly detail: string;
}

/** A publish step's allow: `reason` is the metric's label, `detail` the audit log's specifics. */
export function publishAllow(reason: (typeof PUBLISH_ALLOW_REASONS)[number], detail: string): DecidingVerdict {
  return { verdict: "allow", reason, detail };
}

/** A publish step's deny (or the chain's default). */
export function publishDeny(reason: (typeof PUBLISH_DENY_REASONS)[number], detail: string): DecidingVerdict {
  return { verdict: "deny", reason, detail };
}

/**
 * The publish decision from the runner's: its verdict's label and detail. Every publish verdict is made
 * by `publishAllow`/`publishDeny`, so the label is one of the closed set; anything else is a step
 * written wrong, and throws rather than labelling a metric with it.
 */
export function publishDecisionOf(decision: SyncRunnerDecision<PublishStepName>): PublishDecision {
  const { verdict } = decision;
  const allowed = verdict.verdict === "allow";
  const reasons: readonly string[] = allowed ? PUBLISH_ALLOW_REASONS : PUBLISH_DENY_REASONS;
  if (!reasons.includes(verdict.reason))
    throw new Error(`publish step ${decision.step} answered ${verdict.verdict} with an unknown reason`);
  return { allow: allowed, reason: verdict.reason as PublishReason, detail: verdict.detail ?? verdict.reason };
}
