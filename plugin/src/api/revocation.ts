import { secretsEqual } from "../secrets.js";
import type { SessionRegistry } from "../sessions/session-registry.js";
import type { ViewerSession } from "../sessions/viewer-session.js";

/** Whether a session belongs to a user: by user id (built-in login or backend `X-UserId`) or session name. */
export function isSessionOf(session: ViewerSession, user: string): boolean {
  return session.identity?.userId === user || session.identity?.name === user;
}

/** The live sessions of a user (see isSessionOf). */
export function sessionsOfUser(registry: SessionRegistry, user: string): ViewerSession[] {
  return registry.list().filter((s) => isSessionOf(s, user));
}

/**
 * The live sessions that were let in with this `?token=` (a built-in user's, a securetoken or a
 * middleware's token). Every session's token is compared in constant time.
 */
export function sessionsWithToken(registry: SessionRegistry, token: string): ViewerSession[] {
  return registry.list().filter((s) => {
    const used = s.request?.params.get("token");
    return used !== null && used !== undefined && secretsEqual(used, token);
  });
}

/** Closes sessions as revoked (RTMP/FLV cut at once, HLS keys dead); returns their ids. */
export function revoke(registry: SessionRegistry, sessions: readonly ViewerSession[]): string[] {
  for (const session of sessions) registry.close(session, "revoked");
  return sessions.map((s) => s.id);
}
