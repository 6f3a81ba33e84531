import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import type { Clock } from "../clock.js";
import type { Protocol } from "../chain/auth-request.js";
import { guarded } from "../guarded.js";
import type { Logger } from "../log.js";
import { lastActivityOf, snapshotOf, type EndReason, type SessionSnapshot, type SessionTransport, type ViewerSession } from "./viewer-session.js";

/** What is known of a viewer when its check starts. */
export interface SessionStart {
  protocol: Protocol;
  app: string;
  channel: string;
  ip: string;
  userAgent: string;
  transport: SessionTransport;
}

/** Events: `opened` (check started), `playing` (admitted), `ended` — for statistics and metrics. */
export interface SessionRegistryEvents {
  opened: [ViewerSession];
  playing: [ViewerSession];
  ended: [ViewerSession];
}

/**
 * SessionRegistry holds every live viewer session, whatever the protocol. A session is opened when
 * its check starts (so its id exists for the backend's `X-Session-Id`) and ended exactly once.
 * Listeners run guarded: one that throws is logged (`session.listener_failed`) and the others still
 * run, so a broken statistics or metrics listener cannot stop a session from ending or the server.
 */
export class SessionRegistry extends EventEmitter<SessionRegistryEvents> {
  readonly #live = new Map<string, ViewerSession>();
  readonly #clock: Clock;
  readonly #log: Logger;

  constructor(clock: Clock, log: Logger) {
    super();
    this.#clock = clock;
    this.#log = log;
  }

  /** Opens a session in state `checking` with a fresh unguessable id. */
  open(start: SessionStart): ViewerSession {
    const now = this.#clock.now();
    const session: ViewerSession = {
      id: newSessionId(),
      ...start,
      startedAt: now,
      lastActivityAt: now,
      state: "checking",
      identity: undefined,
      playingSince: undefined,
      request: undefined,
      endedAt: undefined,
      endReason: undefined,
      finalBytesOut: undefined,
    };
    this.#live.set(session.id, session);
    this.#announce("opened", session);
    return session;
  }

  /** The logger sessions are logged to; parts that act on sessions (the HLS key sweeper) report their failures there too. */
  get log(): Logger {
    return this.#log;
  }

  get(id: string): ViewerSession | undefined {
    return this.#live.get(id);
  }

  /** Live sessions (checking or playing). */
  list(): ViewerSession[] {
    return [...this.#live.values()];
  }

  get size(): number {
    return this.#live.size;
  }

  /** Marks a checked session as playing. */
  markPlaying(session: ViewerSession): void {
    if (session.state !== "checking") return;
    session.state = "playing";
    session.playingSince = this.#clock.now();
    session.lastActivityAt = session.playingSince;
    this.#announce("playing", session);
  }

  touch(session: ViewerSession): void {
    session.lastActivityAt = this.#clock.now();
  }

  /**
   * Drops a session that turned out not to be a viewer (the server's own transcoder): no end event,
   * no statistics, no limits.
   */
  discard(session: ViewerSession): void {
    if (session.state === "ended") return;
    session.state = "ended";
    session.endedAt = this.#clock.now();
    this.#live.delete(session.id);
  }

  /** Ends a session once: freezes its bytes, removes it, logs `session.end`. Later calls do nothing. */
  end(session: ViewerSession, reason: EndReason): void {
    if (session.state === "ended") return;
    session.finalBytesOut = this.#finalBytesOf(session);
    session.endedAt = this.#clock.now();
    session.lastActivityAt = lastActivityOf(session, session.endedAt); // a streaming viewer was active until now
    session.state = "ended";
    session.endReason = reason;
    this.#live.delete(session.id);
    this.#log.info({ event: "session.end", session: summary(snapshotOf(session)) }, "session ended");
    this.#announce("ended", session);
  }

  /** Closes a live session's connection and ends it with the given reason. */
  close(session: ViewerSession, reason: EndReason): void {
    if (session.state === "ended") return;
    this.end(session, reason);
    try {
      session.transport.close();
    } catch (error) {
      this.#log.warn({ event: "session.close_failed", sessionId: session.id, err: error }, "closing the viewer connection failed");
    }
  }

  /** The session's bytes at its end; a transport that cannot say is logged and counted as 0, so the session still ends. */
  #finalBytesOf(session: ViewerSession): number {
    try {
      return session.transport.bytesOut();
    } catch (error) {
      this.#log.warn({ event: "session.bytes_failed", sessionId: session.id, err: error }, "reading the bytes sent to a viewer failed; recorded as 0");
      return 0;
    }
  }

  /** `emit`, but every listener is guarded: with a plain emit the first one to throw skips the rest and throws into the protocol code that ended the session. */
  #announce(event: keyof SessionRegistryEvents, session: ViewerSession): void {
    for (const listener of this.rawListeners(event)) guarded(this.#log, "session.listener_failed", listener as (s: ViewerSession) => unknown)(session);
  }
}

/** 128 random bits, URL-safe: ids are shown to backends and operators, so they must not be guessable. */
function newSessionId(): string {
  return randomBytes(16).toString("base64url");
}

function summary(s: SessionSnapshot) {
  return {
    id: s.id, protocol: s.protocol, channel: s.channel, ip: s.ip, name: s.name, userId: s.userId,
    durationMs: (s.endedAt ?? s.startedAt) - s.startedAt, bytesOut: s.bytesOut, reason: s.endReason,
  };
}
