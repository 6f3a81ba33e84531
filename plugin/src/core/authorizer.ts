import type { AuthRequest } from "./auth-request.js";
import type { SessionIdentity, StepName, StepVerdict } from "./decision.js";

/** One outbound request of a step, for metrics. */
export interface OutboundCall {
  readonly seconds: number;
  /** The HTTP status as text (`200`, `403`, …) or why there was none (`timeout`, `refused`, `dns`, …). */
  readonly result: string;
}

/**
 * Authorizer is one step of a chain. It gets the request and says allow, deny or pass.
 * It may answer synchronously (list lookups) or with a promise (a backend call); a step of the publish
 * chain must answer synchronously (`chain/sync-step-runner.ts`).
 * Throwing or rejecting is a fault: the play chain denies and logs it at error level.
 * `Name` is the set of step names of the chain it belongs to: the play chain's `StepName` by default,
 * the publish chain's own names for a publish step (`publish/publish-decision.ts`).
 */
export interface Authorizer<Name extends string = StepName> {
  readonly name: Name;
  decide(request: AuthRequest): StepVerdict | Promise<StepVerdict>;
  /**
   * Vetoes the allow of a step that runs after this one, on the identity that allow named: returns why
   * the viewer is refused, or null. The chain then denies with this step's name (the `revoked` step: a
   * revoked user id or session name is known only once a later step named it). Steps before this one
   * are never vetoed (the `internal` step's allow stands).
   */
  vetoAllow?(request: AuthRequest, user: SessionIdentity | undefined): string | null;
  /** Counters for metrics, e.g. the backend's verdict cache hits, misses and coalesced calls. */
  counters?(): Record<string, number>;
  /** The backend step with `auth.shadowBackend`: the shadow's disagreements so far, by kind (verdict, identity, limit). */
  disagreements?(): Record<string, number>;
  /**
   * Calls a listener after each outbound request the step makes (the backend's HTTP round trips, cache
   * hits excluded), with how long it took and its result: the HTTP status, or the failure (`timeout`,
   * `refused`, …). Returns the unsubscribe function.
   */
  onCall?(listener: (call: OutboundCall) => void): () => void;
  /** Drops every verdict the step cached (a revocation: no cached allow may outlive it). */
  forget?(): void;
  /**
   * Starts the step's timers (a cache's purge) and opens its files; called when the plugin starts, never
   * at build. A promise is awaited by the plugin's start, which fails with it (a geo database that does not read).
   */
  start?(): void | Promise<void>;
  /** Reads the step's files again (the geo databases): on SIGHUP and every configuration reload. */
  reload?(): void;
  /** Releases timers, pools and watchers; called when the plugin detaches (started or not). */
  close?(): void | Promise<void>;
}
