import type { EdgeCommand, RevocationKind } from "../core/cluster-seams.js";
import { isSessionOf, type SessionStore } from "../core/session-store.js";
import type { ViewerSession } from "../core/viewer-session.js";
import { credentialKeysOf } from "./credential-key.js";
import type { RevocationList } from "./revocation-list.js";

/** What applying a command on this edge needs: the live sessions, the revocations, and what else a revocation clears. */
export interface EdgeCommandTargets {
  registry: SessionStore;
  revocations: RevocationList;
  /** Drops cached verdicts a revocation may cover (the backend's verdict cache). */
  forgetVerdicts(): void;
}

/**
 * Applies one management command to this edge: closes the live sessions it covers (RTMP/FLV cut at
 * once, HLS keys dead) and puts a revocation in force or lifts it. The API applies its commands here
 * first, and the cluster layer applies every other edge's commands here, so both paths do the same.
 * Returns the ids of the sessions it closed.
 */
export function applyEdgeCommand(targets: EdgeCommandTargets, command: EdgeCommand): string[] {
  switch (command.op) {
    case "close-session": {
      const session = targets.registry.get(command.id);
      if (session === undefined) return [];
      targets.registry.close(session, command.reason ?? "closed-by-api");
      return [session.id];
    }
    case "close-user":
      return closeAll(targets.registry, targets.registry.list({ user: command.user }));
    case "revoke":
      targets.revocations.add({ kind: command.kind, key: command.key, untilMs: command.untilMs });
      targets.forgetVerdicts();
      return closeAll(
        targets.registry,
        targets.registry.list().filter((s) => covers(command.kind, command.key, s)),
      );
    case "lift":
      targets.revocations.lift(command.kind, command.key);
      return [];
  }
}

/** Whether a revocation (credential as its key, user, address) covers a live session. */
function covers(kind: RevocationKind, key: string, session: ViewerSession): boolean {
  if (kind === "user") return isSessionOf(session, key);
  if (kind === "ip") return session.ip === key;
  const params = session.request?.params;
  return params !== undefined && credentialKeysOf(params).includes(key);
}

function closeAll(registry: SessionStore, sessions: readonly ViewerSession[]): string[] {
  for (const session of sessions) registry.close(session, "revoked");
  return sessions.map((s) => s.id);
}
