import { apiError } from "./api-errors.js";

/** A JSON body, or a raw text body with its content type (metrics, CSV). */
export interface Reply {
  status: number;
  body: unknown;
  contentType?: string;
  /** Extra headers of a JSON reply (`Location` of a created resource). */
  headers?: Record<string, string>;
}

/** Who made an API request: the credential's name (`api.credentials`; `admin`, `metrics`) and its role. */
export interface ApiActor {
  readonly name: string;
  /** One of api/api-roles.ts `API_ROLES` (a string here: core knows no concern). */
  readonly role: string;
}

/** One management API request, as route handlers see it (the credential is already checked). */
export interface ApiRequest {
  readonly method: string;
  readonly url: URL;
  /** The route pattern's captures, URL-decoded. */
  readonly params: readonly string[];
  /** The peer's address (the console's preview link is signed for it). */
  readonly ip: string;
  /** The request body (at most 64 KiB). */
  readonly body: Buffer;
  /** The credential that was admitted (absent on open routes). */
  readonly actor?: ApiActor;
  /** The client's address behind the trusted proxies (`auth.trustedProxies`), for the audit. */
  readonly from?: string;
}

/** A route: a method, a path pattern whose groups become `params`, and its handler. */
export interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly handler: (request: ApiRequest) => Reply | Promise<Reply>;
}

/**
 * How deeply a JSON body may nest arrays and objects. No route takes more than a few levels; the cap
 * keeps recursive code after the parse (validation, issue echoes, JSON.stringify of a reply) from
 * overflowing the stack on a hostile body such as 60,000 `[`.
 */
export const MAX_JSON_DEPTH = 32;

/** The body parsed as JSON, or a 400 reply saying why it is not (empty, nested too deeply, not JSON). */
export function jsonBody(request: ApiRequest): { value: unknown } | Reply {
  if (request.body.length === 0) return apiError(400, "VA_API_BAD_JSON", "a JSON body is required");
  const text = request.body.toString("utf8");
  // Checked on the text, before parsing: nothing deep is ever built.
  const tooDeepAt = depthExceededAt(text, MAX_JSON_DEPTH);
  if (tooDeepAt >= 0) {
    return apiError(
      400,
      "VA_API_BAD_JSON",
      `the body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels (at character ${tooDeepAt})`,
    );
  }
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (error) {
    return apiError(400, "VA_API_BAD_JSON", `the body is not JSON: ${(error as Error).message}`);
  }
}

/** The index of the first `[` or `{` (outside strings) that opens level `maxDepth + 1`, or -1. */
function depthExceededAt(text: string, maxDepth: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next character, a quote included
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return i;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return -1;
}

/** True for a Reply (as opposed to a parsed value). */
export function isReply(value: { value: unknown } | Reply): value is Reply {
  return "status" in value;
}
