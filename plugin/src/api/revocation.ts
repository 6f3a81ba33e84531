import type { SessionStore } from "../core/session-store.js";
import type { ViewerSession } from "../core/viewer-session.js";

/** The live sessions of a user: by user id or session name (`isSessionOf` in core/session-store.ts). */
export function sessionsOfUser(registry: SessionStore, user: string): ViewerSession[] {
  return registry.list({ user });
}

/** The live sessions that were let in with this `?token=` (a built-in user's, a securetoken or a middleware's token). */
export function sessionsWithToken(registry: SessionStore, token: string): ViewerSession[] {
  return registry.list({ token });
}

/** Closes sessions as revoked (RTMP/FLV cut at once, HLS keys dead); returns their ids. */
export function revoke(registry: SessionStore, sessions: readonly ViewerSession[]): string[] {
  for (const session of sessions) registry.close(session, "revoked");
  return sessions.map((s) => s.id);
}
