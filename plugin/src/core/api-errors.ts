import type { Reply } from "./api-route.js";

/**
 * The management API's error codes: every error answer is `{"error": "<sentence>", "code": "<code>"}`.
 * Clients branch on `code`, never on the sentence, which may be reworded. A code never changes meaning
 * and is never reused; the list is closed so a new one is a deliberate, documented addition (docs/errors.md).
 */
export const API_ERROR_CODES = [
  "VA_API_UNAUTHORIZED",
  "VA_API_BANNED",
  "VA_API_CSRF_MISSING",
  "VA_API_NOT_FOUND",
  "VA_API_FEATURE_OFF",
  "VA_API_METHOD_NOT_ALLOWED",
  "VA_API_BODY_TOO_LARGE",
  "VA_API_UNSUPPORTED_MEDIA_TYPE",
  "VA_API_BAD_JSON",
  "VA_API_BAD_REQUEST",
  "VA_API_CONFLICT",
  "VA_API_UNAVAILABLE",
  "VA_API_INTERNAL",
  "VA_API_EXPLAIN_BAD_URL",
  "VA_API_EXPLAIN_BAD_IP",
  "VA_API_WEBHOOK_NOT_FOUND",
  "VA_API_FORBIDDEN_ROLE",
] as const;

export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** The body of an error answer: the sentence, its stable code, and any details (`issues`). */
export function apiErrorBody(code: ApiErrorCode, error: string, details: Record<string, unknown> = {}): Record<string, unknown> {
  return { error, code, ...details };
}

/** An error answer for a route handler. */
export function apiError(status: number, code: ApiErrorCode, error: string, details: Record<string, unknown> = {}): Reply {
  return { status, body: apiErrorBody(code, error, details) };
}
