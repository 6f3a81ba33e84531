import type { InputProblem } from "./input-problem.js";

/**
 * The rules for the fields of a play or publish: the names node-media-server 4.4.3 accepts for an app
 * and a stream, and bounds on every text a viewer sends. The input shield applies them where the input
 * enters (RTMP commands, FLV paths); the play gate applies them again before a session is opened, so
 * nothing that breaks them reaches the chain, the session registry or the statistics ledger.
 */

/** NMS's own SAFE_NAME_PATTERN (session/rtmp_session.js, session/flv_session.js) for app and stream names. */
export const SAFE_NAME_PATTERN = /^[A-Za-z0-9_-]+$/;

/** Bounds on what a viewer or publisher may send, in characters. */
export const PLAY_FIELD_LIMITS = {
  /** An app name (`live`). */
  appChars: 128,
  /** A stream name without its query. */
  nameChars: 1024,
  /** A query string (a signed link's JWT fits several times over). */
  queryChars: 8192,
  /** RTMP connect's tcUrl. */
  tcUrlChars: 1024,
  /** RTMP connect's flashVer, the RTMP user agent. */
  flashVerChars: 256,
  /** User agent, host and origin as the play gate hands them to the chain and the ledger. */
  headerChars: 512,
} as const;

/** C0 controls, DEL and C1 controls: never part of a name, a header or a URL a player sends. */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;
const PRINTABLE_ASCII = /^[\u0020-\u007e]*$/;

/** Why `value` is not an app or stream name NMS accepts, or null when it is one. */
export function nameProblem(value: unknown, maxChars: number): string | null {
  if (typeof value !== "string") return "not a string";
  if (value.length === 0) return "empty";
  if (value.length > maxChars) return `longer than ${maxChars} characters`;
  if (!SAFE_NAME_PATTERN.test(value)) return "has characters other than A-Z a-z 0-9 _ -";
  return null;
}

/**
 * Why `value` is not an acceptable text of at most `maxChars`, or null. `printable-ascii` is for
 * RTMP fields that end up in HTTP headers toward a backend (flashVer, tcUrl); `no-controls` allows
 * any other character (HTTP header values may carry Latin-1).
 */
export function textProblem(value: unknown, maxChars: number, charset: "printable-ascii" | "no-controls"): string | null {
  if (typeof value !== "string") return "not a string";
  if (value.length > maxChars) return `longer than ${maxChars} characters`;
  if (charset === "printable-ascii" ? !PRINTABLE_ASCII.test(value) : CONTROL_CHARACTER.test(value)) {
    return charset === "printable-ascii" ? "has characters other than printable ASCII" : "has control characters";
  }
  return null;
}

/** Why a query string (without its `?`) is refused, or null: too long, or with raw control characters. */
export function queryProblem(value: string): string | null {
  if (value.length > PLAY_FIELD_LIMITS.queryChars) return `query longer than ${PLAY_FIELD_LIMITS.queryChars} characters`;
  if (CONTROL_CHARACTER.test(value)) return "query has control characters";
  return null;
}

/** The fields of a play the gate checks before the registry and the chain see them. */
export interface PlayFields {
  app?: unknown;
  channel?: unknown;
  userAgent?: unknown;
  host?: unknown;
  origin?: unknown;
}

/**
 * The first problem among the given play fields, or null: app and channel must be names NMS accepts,
 * user agent, host and origin strings of at most 512 characters without control characters. Fields
 * left out are not checked.
 */
export function playFieldsProblem(fields: PlayFields): InputProblem | null {
  const names = [
    ["app", PLAY_FIELD_LIMITS.appChars],
    ["channel", PLAY_FIELD_LIMITS.nameChars],
  ] as const;
  for (const [field, maxChars] of names) {
    if (!(field in fields)) continue;
    const reason = nameProblem(fields[field], maxChars);
    if (reason !== null) return { field, reason, value: fields[field] };
  }
  for (const field of ["userAgent", "host", "origin"] as const) {
    if (!(field in fields)) continue;
    const reason = textProblem(fields[field], PLAY_FIELD_LIMITS.headerChars, "no-controls");
    if (reason !== null) return { field, reason, value: fields[field] };
  }
  return null;
}
