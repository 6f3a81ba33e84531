import type { AuthRequest, Protocol } from "./auth-request.js";
import type { SessionIdentity } from "./decision.js";

/** Why a session ended. */
const END_REASONS = [
  "viewer-left", "denied", "idle", "closed-by-api", "revoked", "denied-on-recheck", "limit",
  // The server stopped on a signal (or its last-resort handler) and closed the session itself.
  "shutdown",
  // The server died without closing it (SIGKILL, a crash): recorded at the next start from the live mirror.
  "server-stopped",
  // Allowed, but what it asked for does not exist (an HLS playlist): it never played.
  "not-found",
] as const;
export type EndReason = (typeof END_REASONS)[number];

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
