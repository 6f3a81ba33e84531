import { REVOCATION_KINDS, type EdgeCommand, type SharedSessionSnapshot } from "../core/cluster-seams.js";
import type { SessionGrantFacts } from "../core/session-store.js";
import type { ViewerSession } from "../core/viewer-session.js";
import { credentialKeysOf } from "../sessions/credential-key.js";

/**
 * A playing session as stored in Redis: what the API lists, plus the keys of the credentials it came in
 * with (`t`, `credentialKey`; one key as a string, several as a list) for credential revocations.
 */
interface SharedEntry {
  id: string;
  protocol: ViewerSession["protocol"];
  app: string;
  channel: string;
  ip: string;
  userAgent: string;
  name: string | undefined;
  userId: string | undefined;
  startedAt: number;
  playingSince: number;
  t?: string | string[];
}

/** The entry a session is registered under when it starts playing. */
export function sharedEntryOf(session: ViewerSession, facts: SessionGrantFacts, now: number): SharedEntry {
  const identity = facts.identity;
  const keys = facts.request === undefined ? [] : credentialKeysOf(facts.request.params);
  return {
    id: session.id,
    protocol: session.protocol,
    app: session.app,
    channel: session.channel,
    ip: session.ip,
    userAgent: session.userAgent,
    name: identity?.name,
    userId: identity?.userId,
    startedAt: session.startedAt,
    playingSince: now,
    ...(keys.length === 0 ? {} : { t: keys.length === 1 ? keys[0]! : keys }),
  };
}

/** The credential keys of a stored session entry (`t`), checked field by field. */
export function credentialKeysOfEntry(json: string): { id: string; keys: string[] } | undefined {
  let e: { id?: unknown; t?: unknown };
  try {
    e = JSON.parse(json) as { id?: unknown; t?: unknown };
  } catch {
    return undefined;
  }
  if (typeof e.id !== "string") return undefined;
  const keys = typeof e.t === "string" ? [e.t] : Array.isArray(e.t) ? e.t.filter((k): k is string => typeof k === "string") : [];
  return keys.length === 0 ? undefined : { id: e.id, keys };
}

/** Another edge's session as the API shows it, or undefined for an entry that is not one (never trusted blindly). */
export function parseSharedSession(json: string, node: string): SharedSessionSnapshot | undefined {
  let e: Partial<SharedEntry>;
  try {
    e = JSON.parse(json) as Partial<SharedEntry>;
  } catch {
    return undefined;
  }
  if (typeof e.id !== "string" || typeof e.app !== "string" || typeof e.channel !== "string" || typeof e.startedAt !== "number")
    return undefined;
  return {
    id: e.id,
    protocol: e.protocol!,
    app: e.app,
    channel: e.channel,
    ip: e.ip ?? "",
    userAgent: e.userAgent ?? "",
    state: "playing",
    name: e.name,
    userId: e.userId,
    startedAt: e.startedAt,
    playingSince: e.playingSince,
    lastActivityAt: e.playingSince ?? e.startedAt,
    endedAt: undefined,
    endReason: undefined,
    bytesOut: 0,
    node,
  };
}

/** A command read from the stream, checked field by field; undefined when it is not one. */
export function parseEdgeCommand(json: string | undefined): EdgeCommand | undefined {
  if (json === undefined) return undefined;
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const text = (v: unknown): v is string => typeof v === "string" && v !== "";
  const kind = REVOCATION_KINDS.find((k) => k === c.kind);
  switch (c.op) {
    case "close-session":
      if (!text(c.id)) return undefined;
      return c.reason === "limit" ? { op: "close-session", id: c.id, reason: "limit" } : { op: "close-session", id: c.id };
    case "close-user":
      return text(c.user) ? { op: "close-user", user: c.user } : undefined;
    case "revoke":
      return kind !== undefined && text(c.key) && typeof c.untilMs === "number"
        ? { op: "revoke", kind, key: c.key, untilMs: c.untilMs }
        : undefined;
    case "lift":
      return kind !== undefined && text(c.key) ? { op: "lift", kind, key: c.key } : undefined;
    default:
      return undefined;
  }
}
