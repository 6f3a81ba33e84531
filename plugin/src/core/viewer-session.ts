import type { AuthRequest, Protocol } from "./auth-request.js";
import { STEP_NAMES, type SessionIdentity } from "./decision.js";

/** Why a session ended. */
export const END_REASONS = [
  "viewer-left",
  "denied",
  "idle",
  "closed-by-api",
  "revoked",
  "denied-on-recheck",
  "limit",
  // The server stopped on a signal (or its last-resort handler) and closed the session itself.
  "shutdown",
  // The server died without closing it (SIGKILL, a crash): recorded at the next start from the live mirror.
  "server-stopped",
  // Allowed, but what it asked for does not exist (an HLS playlist): it never played.
  "not-found",
  // The credential it was let in with ended (a signed link's end, a user's expires, a token's exp).
  "expired",
] as const;
export type EndReason = (typeof END_REASONS)[number];

/**
 * Where a refused session was refused: a chain step (`revoked`, the step, refuses a revoked token, user
 * or address), or a stage around the chain (`input`: a malformed field before the chain; `hls-unplayed`: too many HLS
 * sessions of one credential that fetched no segment yet). A fixed set: statistics group refusals by it.
 */
export const REFUSAL_STAGES = [...STEP_NAMES, "input", "hls-unplayed"] as const;
export type RefusalStage = (typeof REFUSAL_STAGES)[number];

/** Why a session that never played ended: the stage that refused it and who it was, when a step named them. */
export interface SessionRefusal {
  readonly stage: RefusalStage;
  /** The identity an allow named before a later stage refused (a limit, a revoked user); undefined for an anonymous refusal. */
  readonly identity?: SessionIdentity | undefined;
}

/** Session states: `checking` until the chain answers, then `playing`, then `ended`. */
export type SessionState = "checking" | "playing" | "ended";

/** What the protocol layer gives a session so the registry can read bytes and cut the viewer off. */
export interface SessionTransport {
  /** Bytes sent to the viewer so far. */
  bytesOut(): number;
  /** Ends the viewer's connection (RTMP/FLV) or invalidates its key (HLS). */
  close(): void;
}

/** ViewerSession is one viewer watching one channel over one protocol, from check to end. */
export interface ViewerSession {
  readonly id: string;
  readonly protocol: Protocol;
  readonly app: string;
  readonly channel: string;
  readonly ip: string;
  readonly userAgent: string;
  /** Start of the check, ms since the epoch. */
  readonly startedAt: number;
  state: SessionState;
  identity: SessionIdentity | undefined;
  /** When the chain's allow let media flow; undefined for a session that never played. */
  playingSince: number | undefined;
  lastActivityAt: number;
  endedAt: number | undefined;
  endReason: EndReason | undefined;
  /** The request of the latest check, kept for re-checks. */
  request: AuthRequest | undefined;
  /** Bytes out, frozen at the end; live sessions read their transport. */
  finalBytesOut: number | undefined;
  readonly transport: SessionTransport;
  /** The refusal, for a session ended by one (set by the store's `end`). */
  refusal?: SessionRefusal | undefined;
  /**
   * When media first went out: the admission for RTMP/FLV, the first segment for HLS (a playlist alone is
   * not viewing). Undefined for a session that never played.
   */
  mediaSince?: number | undefined;
  /**
   * When the credential it plays on ends, ms since the epoch (the latest allow's `validUntilMs`): the
   * session is closed as `expired` then. Undefined: no end.
   */
  validUntilMs?: number | undefined;
}

/** The plain-object view of a session, for logs and the API. */
export interface SessionSnapshot {
  id: string;
  protocol: Protocol;
  app: string;
  channel: string;
  ip: string;
  userAgent: string;
  state: SessionState;
  name: string | undefined;
  userId: string | undefined;
  startedAt: number;
  playingSince: number | undefined;
  lastActivityAt: number;
  endedAt: number | undefined;
  endReason: EndReason | undefined;
  bytesOut: number;
}

/** Whether media reached the viewer: an HLS session that only fetched a playlist did not play. */
export function hasPlayed(session: Pick<ViewerSession, "protocol" | "playingSince" | "mediaSince">): boolean {
  if (session.playingSince === undefined) return false;
  return session.protocol !== "hls" || session.mediaSince !== undefined;
}

/**
 * When the viewer last did something. RTMP and FLV viewers receive media without pause while they
 * play, so they are active now; an HLS viewer is active when it last asked for a playlist or segment.
 */
export function lastActivityOf(session: ViewerSession, now: number): number {
  return session.protocol !== "hls" && session.state === "playing" ? now : session.lastActivityAt;
}

/** The plain-object view of a session; with `now`, a playing RTMP/FLV session counts as active now. */
export function snapshotOf(session: ViewerSession, now?: number): SessionSnapshot {
  return {
    id: session.id,
    protocol: session.protocol,
    app: session.app,
    channel: session.channel,
    ip: session.ip,
    userAgent: session.userAgent,
    state: session.state,
    name: session.identity?.name,
    userId: session.identity?.userId,
    startedAt: session.startedAt,
    playingSince: session.playingSince,
    lastActivityAt: now === undefined ? session.lastActivityAt : lastActivityOf(session, now),
    endedAt: session.endedAt,
    endReason: session.endReason,
    bytesOut: session.finalBytesOut ?? session.transport.bytesOut(),
  };
}
