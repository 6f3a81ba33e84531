import type { SessionIdentity } from "../core/decision.js";
import type { SessionStore } from "../core/session-store.js";
import type { RefusalStage, ViewerSession } from "../core/viewer-session.js";

/** How an admitted or refused viewer's session ends, as the admission path knows it. */
export type AdmissionEnd =
  /** Refused: by a chain step, by input validation (`input`), or by the host after an allow (no stage). */
  | { readonly kind: "denied"; readonly stage?: RefusalStage | undefined; readonly identity?: SessionIdentity | undefined }
  /** Over a session limit or the HLS unplayed-session bound. */
  | { readonly kind: "limit"; readonly stage: RefusalStage; readonly identity?: SessionIdentity | undefined }
  /** Allowed, but what it asked for does not exist (an HLS playlist). */
  | { readonly kind: "not-found"; readonly stage: RefusalStage; readonly identity?: SessionIdentity | undefined }
  /** The viewer hung up (or its session was closed while it was checked). */
  | { readonly kind: "viewer-left" };

/**
 * The one place the admission path ends a session: the pipeline's refusals, limits and failures and
 * the hosts' "viewer left" all come through here, so every end carries the stage and identity
 * statistics and the console read. (Closing a playing session, by the API, a revocation or a re-check,
 * goes through `SessionStore.close` and is not admission.)
 */
export function endAdmission(registry: SessionStore, session: ViewerSession, end: AdmissionEnd): void {
  if (end.kind === "viewer-left") return registry.end(session, "viewer-left");
  if (end.stage === undefined) return registry.end(session, end.kind);
  registry.end(session, end.kind, "identity" in end ? { stage: end.stage, identity: end.identity } : { stage: end.stage });
}
