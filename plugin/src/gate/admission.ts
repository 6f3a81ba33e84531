import type { AuthRequest } from "../core/auth-request.js";
import type { Decision } from "../core/decision.js";
import type { SessionStart } from "../core/session-store.js";
import type { ViewerSession } from "../core/viewer-session.js";
import { repeatedCredentialParam } from "../sessions/credential-key.js";
import { startPlaying, type GateContext } from "./gate-context.js";

/**
 * What one gate knows of one viewer's connection and how it answers it: the protocol-specific half
 * of an admission. `admit` holds the other half, the sequence every protocol shares.
 */
export interface AdmissionViewer {
  /** What is known of the viewer before its request is read (the session opens with it). */
  readonly start: SessionStart;
  /**
   * Builds the chain's request for the opened session (the session id is the backend's
   * `X-Session-Id`). Returns null after answering the viewer itself when a field is malformed: the
   * session then ends as `denied` and the chain never runs.
   */
  requestOf(session: ViewerSession): AuthRequest | null;
  /** True when the viewer's connection closed while the gate waited. */
  isGone(): boolean;
  /**
   * False when the gate itself went away while the chain ran (detached, or the stream's play path
   * replaced): the viewer is then refused whatever the verdict. Always true when left out.
   */
  isStillGated?(): boolean;
  /** Refuses the viewer before any media: a 403 or the protocol's refusal, a 302 for a deny with `redirectUrl`. */
  refuse(decision: Decision): void;
  /**
   * Asked after an allow, before `prepare`: true after answering the viewer itself (HLS: 429, too many
   * sessions of this credential that never fetched a segment); the session then ends as `limit`.
   */
  hold?(session: ViewerSession, request: AuthRequest, decision: Decision & { verdict: "allow" }): boolean;
  /**
   * Work between an allow and admission (HLS reads the playlist here). Resolves false after
   * answering the viewer itself (a missing playlist): the session then ends as `not-found` without
   * counting against any limit.
   */
  prepare?(): Promise<boolean>;
  /** Starts the media for an admitted, playing session. */
  play(session: ViewerSession, request: AuthRequest, decision: Decision & { verdict: "allow" }): void;
}

/**
 * Admits or refuses one new viewer, the same way for every protocol and host: opens the session,
 * builds the request, refuses a credential parameter given twice or a revoked credential, asks the chain, ends the session if the viewer left meanwhile, refuses on deny,
 * applies the session limits (`startPlaying`) and only then starts the media. Exactly one of
 * `refuse`, `play` or nothing (the viewer left, or a hook answered) happens. A throw from a hook ends
 * a still-checking session as `denied` and is rethrown for the gate to answer and log.
 */
export async function admit(ctx: GateContext, viewer: AdmissionViewer): Promise<void> {
  const session = ctx.registry.open(viewer.start);
  try {
    const request = viewer.requestOf(session);
    if (request === null) return ctx.registry.end(session, "denied", { stage: "input" });
    const repeated = repeatedCredentialParam(request.params);
    if (repeated !== undefined) {
      // Steps read a parameter's first value, a backend may read its last: one request, two credentials.
      const reason = `credential parameter "${repeated}" given more than once`;
      ctx.log.info({ event: "gate.credential_repeated", sessionId: session.id, protocol: request.protocol, app: request.app, channel: request.channel, ip: request.ip, reason }, "refused: a credential parameter given twice");
      ctx.registry.end(session, "denied", { stage: "input" });
      return viewer.refuse({ verdict: "deny", step: "default", reason, latencyMs: 0 });
    }
    const revoked = ctx.revocations.refusalOfCredential(request);
    if (revoked !== null) {
      // Audited like a chain decision, though the chain never ran: the operator revoked this credential.
      ctx.log.info({ event: "gate.revoked_refused", sessionId: session.id, protocol: request.protocol, app: request.app, channel: request.channel, ip: request.ip, reason: revoked }, "refused: revoked credential");
      ctx.registry.end(session, "denied", { stage: "revoked" });
      return viewer.refuse({ verdict: "deny", step: "default", reason: revoked, latencyMs: 0 });
    }
    const decision = await ctx.chain.decide(request);
    if (left(ctx, session, viewer)) return;
    if (decision.verdict === "deny" || viewer.isStillGated?.() === false) {
      ctx.registry.end(session, "denied", { stage: decision.step });
      return viewer.refuse(decision);
    }
    if (viewer.hold?.(session, request, decision) === true) {
      return ctx.registry.end(session, "limit", { stage: "hls-unplayed", identity: decision.user });
    }
    if (viewer.prepare !== undefined) {
      const ready = await viewer.prepare();
      if (left(ctx, session, viewer)) return;
      if (!ready) return ctx.registry.end(session, "not-found", { stage: decision.step, identity: decision.user });
    }
    const refusal = await startPlaying(ctx, session, request, decision);
    if (refusal !== null) return viewer.refuse({ verdict: "deny", step: decision.step, reason: refusal, latencyMs: decision.latencyMs });
    // Taking a slot across edges waits on Redis: the viewer may have left meanwhile.
    if (decision.step !== "internal" && left(ctx, session, viewer)) return;
    viewer.play(session, request, decision);
  } catch (error) {
    if (session.state === "checking") ctx.registry.end(session, "denied");
    throw error;
  }
}

/**
 * True when the viewer hung up (its session then ends as `viewer-left`) or its session was ended
 * (closed by the API) while the gate waited; a connection still open then gets a refusal, not silence.
 */
function left(ctx: GateContext, session: ViewerSession, viewer: AdmissionViewer): boolean {
  const gone = viewer.isGone();
  if (session.state !== "ended" && !gone) return false;
  ctx.registry.end(session, "viewer-left");
  if (!gone) viewer.refuse({ verdict: "deny", step: "default", reason: "session ended while checking", latencyMs: 0 });
  return true;
}
