import type { AuthRequest, Protocol } from "../core/auth-request.js";
import type { Decision } from "../core/decision.js";
import type { SessionTransport, ViewerSession } from "../core/viewer-session.js";

/**
 * The fields of a request that a host decodes once, where the request enters (the viewer's address behind
 * trusted proxies, the percent-decoded path, the raw query and its parsed form, user agent, host, origin,
 * RTMP's TCP ports): everything of an `AuthRequest` but what the pipeline adds (action, session id, purpose) and the publish-only `live`.
 */
export type RequestFields = Omit<
  AuthRequest,
  "action" | "sessionId" | "protocol" | "app" | "channel" | "live" | "purpose" | "requestNumber"
>;

/**
 * One viewer's connection as a host hands it to the admission pipeline (`gate/admission.ts`): what it
 * asks for, its fields decoded once, and how the host answers it. A port knows its host's connection
 * and nothing of the chain, the sessions or the limits; the pipeline knows those and no host.
 */
export interface ConnectionPort {
  readonly protocol: Protocol;
  readonly app: string;
  readonly channel: string;
  /** The request's fields, decoded where the request entered. */
  readonly fields: RequestFields;
  /** How the session store reads the bytes sent and cuts the viewer off once it plays. */
  readonly transport: SessionTransport;
  /**
   * True for a host's own play (RTMP, HTTP-FLV, WS-FLV): its app and channel must be names NMS accepts and
   * its user agent, host and origin bounded texts (`gate/play-fields.ts`), checked again behind the input
   * shields before a session opens or the chain runs. The HLS gate classified its path itself.
   */
  readonly checksPlayFields: boolean;
  /**
   * Told the session once it opens: a host whose own events say when a play ends (NMS's `donePlay`)
   * remembers it, to end it as `viewer-left` through `endAdmission`, also while the chain runs.
   */
  opened?(session: ViewerSession): void;
  /** True when the viewer's connection closed while the pipeline waited. */
  isGone(): boolean;
  /**
   * False when the gate itself went away while the chain ran (detached, or the stream's play path
   * replaced): the viewer is then refused whatever the verdict. Always true when left out.
   */
  isStillGated?(): boolean;
  /** Refuses the viewer before any media: a 403 or the protocol's refusal, a 302 for a deny with `redirectUrl`. */
  refuse(decision: Decision): void;
  /** Cuts the connection (the host refused an allowed play, or the pipeline failed); must not throw. */
  cut(): void;
  /**
   * Asked after an allow, before `prepare`: true after answering the viewer itself (HLS: 429, too many
   * sessions of this credential that never fetched a segment); the session then ends as `limit`.
   */
  hold?(session: ViewerSession, request: AuthRequest, decision: Decision & { verdict: "allow" }): boolean;
  /**
   * Work between an allow and admission (HLS reads the playlist here). Resolves false after answering
   * the viewer itself (a missing playlist): the session then ends as `not-found` without counting
   * against any limit.
   */
  prepare?(): Promise<boolean>;
  /**
   * Starts (resumes) the media of an admitted, playing session. Returns null when it plays, or why the
   * host itself refused the allowed play ("" when it does not say): NMS's own `auth.play` sign, an app's
   * `prePlay` reject. The pipeline then ends the session as `denied` and cuts the connection.
   */
  play(session: ViewerSession, request: AuthRequest, decision: Decision & { verdict: "allow" }): string | null;
}
