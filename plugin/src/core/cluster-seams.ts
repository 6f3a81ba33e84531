import type { SessionGrantFacts } from "./session-store.js";
import type { SessionSnapshot, ViewerSession } from "./viewer-session.js";

/** What a session limit counts by: a user, a viewer address, or a channel. */
export const LIMIT_KINDS = ["user", "ip", "channel"] as const;

/** One limit a newcomer is counted under: which key, how many may play, and how to name it in a refusal. */
export interface LimitKey {
  kind: (typeof LIMIT_KINDS)[number];
  /** The user id, the address, or `app/channel`. */
  value: string;
  max: number;
  what: string;
}

/** What a shared store says about a newcomer's slot. */
export type SharedAdmission =
  | { outcome: "admitted" }
  /** `key`: the index in the given limits of the first limit that is full. */
  | { outcome: "refused"; key: number }
  /** The shared store did not answer in time and the policy is to count on this edge alone. */
  | { outcome: "local" }
  /** The shared store did not answer in time and the policy is to refuse. */
  | { outcome: "unavailable" };

/**
 * Takes playing slots for newcomers across every edge at once (the cluster layer implements it). The
 * session limiter calls it; without it, limits are counted in this process only.
 */
export interface SharedLimits {
  /** Takes one slot under every limit, atomically: either all or none. The slot is released when the session ends. */
  take(session: ViewerSession, facts: SessionGrantFacts, limits: readonly LimitKey[]): Promise<SharedAdmission>;
  /**
   * Closes the oldest playing session under a full limit, on whichever edge holds it (`close-oldest`):
   * this edge's at once, another's through the edge commands. Resolves true when one was found.
   */
  closeOldest?(limit: LimitKey): Promise<boolean>;
}

/** What a revocation is about: a `?token=`, a user id (or session name), or a viewer address. */
export type RevocationKind = "token" | "user" | "ip";
export const REVOCATION_KINDS: readonly RevocationKind[] = ["token", "user", "ip"];

/**
 * One change every edge applies to its own live sessions. A token travels and is kept only as its
 * SHA-256 digest (`key`), never as the token itself.
 */
export type EdgeCommand =
  /** `reason` `limit`: closed as the oldest under a full limit (close-oldest); else closed by an operator. */
  | { op: "close-session"; id: string; reason?: "limit" }
  | { op: "close-user"; user: string }
  | { op: "revoke"; kind: RevocationKind; key: string; untilMs: number }
  | { op: "lift"; kind: RevocationKind; key: string };

/** A live session as any edge sees it: its snapshot and the edge (`node`) it plays on. */
export type SharedSessionSnapshot = SessionSnapshot & { node: string };

/** Another edge's session as a command finds it: its snapshot and its credentials' keys (`t` of its entry). */
export type CoveredSession = SharedSessionSnapshot & { credentialKeys: readonly string[] };

/** What the edge's cluster link reports (API and /metrics). */
export interface ClusterStatus {
  node: string;
  redis: "up" | "down";
  onRedisDown: "local" | "deny";
  /** Viewers admitted on local counts, and refused, while Redis was away. */
  localAdmissions: number;
  refusedWhileDown: number;
}

/**
 * What the cluster-aware routes read of the cluster layer and send through it; `EdgeCluster` implements
 * it. It sits here so that the sessions' and users' routes, below `cluster/`, can name it.
 */
export interface ClusterView {
  readonly nodeId: string;
  readonly leaseMs: number;
  status(): ClusterStatus;
  sessions(): Promise<SharedSessionSnapshot[] | undefined>;
  /**
   * Sends a command (already applied here) to every other edge and answers what it finds there: the other
   * edges' sessions as Redis held them just before, each with the keys of the credentials it came in with.
   * The reads go out first and the command right behind them on the same connection, so the command waits
   * for no answer (its time to reach the other edges does not grow with their sessions). Undefined while
   * Redis is away (the command is then queued).
   */
  publishAfterRead(command: EdgeCommand): Promise<CoveredSession[] | undefined>;
  statsByNode(): Promise<Record<string, unknown> | undefined>;
  /** Every live edge with its shared sessions' count, or undefined while Redis is away. */
  edges(): Promise<{ node: string; sessions: number }[] | undefined>;
  publish(command: EdgeCommand): Promise<void>;
}
