import type { AuthRequest } from "./auth-request.js";
import type { StepName, StepVerdict } from "./decision.js";

/** One outbound request of a step, for metrics. */
export interface OutboundCall {
  readonly seconds: number;
  /** The HTTP status as text (`200`, `403`, …) or why there was none (`timeout`, `refused`, `dns`, …). */
  readonly result: string;
}

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
  /**
   * Calls a listener after each outbound request the step makes (the backend's HTTP round trips, cache
   * hits excluded), with how long it took and its result: the HTTP status, or the failure (`timeout`,
   * `refused`, …). Returns the unsubscribe function.
   */
  onCall?(listener: (call: OutboundCall) => void): () => void;
  /** Drops every verdict the step cached (a revocation: no cached allow may outlive it). */
  forget?(): void;
  /** Starts the step's timers (a cache's purge); called when the plugin starts, never at build. */
  start?(): void;
  /** Releases timers, pools and watchers; called when the plugin detaches (started or not). */
  close?(): void | Promise<void>;
}
