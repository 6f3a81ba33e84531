/** A JSON body, or a raw text body with its content type (metrics, CSV). */
export interface Reply {
  status: number;
  body: unknown;
  contentType?: string;
}

/** One management API request, as route handlers see it (the credential is already checked). */
export interface ApiRequest {
  readonly method: string;
  readonly url: URL;
  /** The route pattern's captures, URL-decoded. */
  readonly params: readonly string[];
  /** The request body (at most 64 KiB). */
  readonly body: Buffer;
}

/** A route: a method, a path pattern whose groups become `params`, and its handler. */
export interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly handler: (request: ApiRequest) => Reply | Promise<Reply>;
}

/** The body parsed as JSON, or a 400 reply saying why it is not. */
export function jsonBody(request: ApiRequest): { value: unknown } | Reply {
  if (request.body.length === 0) return { status: 400, body: { error: "a JSON body is required" } };
  try {
    return { value: JSON.parse(request.body.toString("utf8")) as unknown };
  } catch (error) {
    return { status: 400, body: { error: `the body is not JSON: ${(error as Error).message}` } };
  }
}

/** True for a Reply (as opposed to a parsed value). */
export function isReply(value: { value: unknown } | Reply): value is Reply {
  return "status" in value;
}
