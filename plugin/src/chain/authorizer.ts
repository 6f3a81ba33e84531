import type { AuthRequest } from "./auth-request.js";
import type { StepName, StepVerdict } from "./decision.js";

/**
 * Authorizer is one step of the chain. It gets the request and says allow, deny or pass.
 * It may answer synchronously (list lookups) or with a promise (a backend call).
 * Throwing or rejecting is a fault: the chain denies and logs it at error level.
 */
export interface Authorizer {
  readonly name: StepName;
  decide(request: AuthRequest): StepVerdict | Promise<StepVerdict>;
  /** Counters for metrics, e.g. the backend's verdict cache hits, misses and coalesced calls. */
  counters?(): Record<string, number>;
  /** Releases timers, pools and watchers; called when the plugin detaches. */
  close?(): void | Promise<void>;
}
