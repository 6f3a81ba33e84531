import type { Logger } from "../core/log.js";
import type { ApiGuard } from "./api-guard.js";
import type { ApiExchange } from "./api-router.js";
import type { ConsoleFront } from "../console/console-front.js";
import { readBody, refuseLargeBody } from "../core/api-body.js";
import { sendJson } from "../core/api-reply.js";
import { apiErrorBody } from "../core/api-errors.js";

/**
 * The console's sign-in (the one route that takes the credential in a body): `{"credential": "<api token>"}` as JSON (a plain form cannot send that type,
 * so no other site can sign a browser in). Right: a console session cookie. Wrong: counted and refused
 * exactly like a wrong bearer token (401, 429 while banned). The credential is never logged.
 */
export async function signInConsole(exchange: ApiExchange, guard: ApiGuard, front: ConsoleFront, log: Logger): Promise<void> {
  const { req, res } = exchange;
  if (!/^application\/json\b/i.test(req.headers["content-type"] ?? ""))
    return sendJson(res, 415, apiErrorBody("VA_API_UNSUPPORTED_MEDIA_TYPE", "sign-in takes a JSON body"));
  const body = await readBody(req);
  if (body === undefined) return refuseLargeBody(res);
  let credential: unknown;
  try {
    credential = (JSON.parse(body.toString("utf8")) as { credential?: unknown } | null)?.credential;
  } catch {
    return sendJson(res, 400, apiErrorBody("VA_API_BAD_REQUEST", 'the body must be {"credential": "…"}'));
  }
  if (typeof credential !== "string" || !guard.accepted(credential)) return guard.refuse(req, res, exchange);
  log.info({ event: "console.signed_in", ip: exchange.peer }, "console: operator signed in");
  return front.signIn(req, res);
}
