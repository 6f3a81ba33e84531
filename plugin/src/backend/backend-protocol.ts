import type { AuthRequest } from "../core/auth-request.js";
import type { BackendType } from "./backend-schema.js";
import type { BackendAnswer } from "./backend-answer.js";
import type { BackendResponse } from "./backend-transport.js";

/** Live viewer counts some backends receive (Flussonic `stream_clients`, `total_clients`). */
export interface ClientCounts {
  /** Playing sessions of the requested channel. */
  readonly stream: number;
  /** Playing sessions of every channel. */
  readonly total: number;
}

/** One GET to make: where, with which headers, and whether the answer's body is needed. */
export interface BackendCall {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly readBody: boolean;
}

/**
 * BackendProtocol is what differs between backend types: how a request becomes a call, which of
 * the request's facts a verdict depends on (the cache key), and what a response means.
 */
export interface BackendProtocol {
  readonly type: BackendType;
  /** The check URL before any viewer query is added: where the transport connects, and what logs name. */
  readonly checkUrl: string;
  /** Whether a re-check inside the backend's X-AuthDuration keeps the grant without asking the backend again. */
  readonly keepsGrantOnRecheck: boolean;
  /**
   * The cache and coalescing key: every fact sent that the backend's verdict may depend on. Per-viewer
   * or per-moment values (session id, request number, client counts) are left out on purpose, so one
   * verdict serves every viewer presenting the same facts.
   */
  keyOf(request: AuthRequest): string;
  build(request: AuthRequest, counts: () => ClientCounts): BackendCall;
  interpret(response: BackendResponse): BackendAnswer;
}
