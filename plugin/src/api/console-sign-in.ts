import type { Logger } from "../core/log.js";
import type { ApiGuard } from "./api-guard.js";
import type { ApiExchange } from "./api-router.js";
import type { ConsoleFront } from "../console/console-front.js";
import { readBody, refuseLargeBody } from "../core/api-body.js";
import { sendJson } from "../core/api-reply.js";
import { apiErrorBody } from "../core/api-errors.js";
import { UNKNOWN_ACTOR, type AuditTrail } from "../stats/audit-trail.js";

/**
 * The console's sign-in (the one route that takes the credential in a body): `{"credential": "<api token>"}` as JSON (a plain form cannot send that type,
 * so no other site can sign a browser in). Right: a console session cookie. Wrong: counted and refused
 * exactly like a wrong bearer token (401, 429 while banned). Any credential of role `viewer` or above
 * signs in, and the console session keeps its name and role; a `metrics` credential is answered 403
 * `VA_API_FORBIDDEN_ROLE`. Both outcomes are audited (a wrong credential as actor `unknown`; one refused
 * while the client is banned is not, so a guessing client adds no entry past its ban). The credential
 * is never logged.
 */
export async function signInConsole(
  exchange: ApiExchange,
  guard: ApiGuard,
  front: ConsoleFront,
  log: Logger,
  audit: AuditTrail,
): Promise<void> {
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
  const principal = typeof credential === "string" ? guard.identify(credential) : undefined;
  if (principal === undefined) {
    if (!guard.banned(exchange.client))
      audit.record({ actor: UNKNOWN_ACTOR, role: null, action: "sign-in-failed", target: null, address: exchange.from });
    return guard.refuse(req, res, exchange);
  }
  if (principal.role === "metrics")
    return sendJson(
      res,
      403,
      apiErrorBody("VA_API_FORBIDDEN_ROLE", `the credential "${principal.name}" (role metrics) cannot sign in to the console`),
    );
  log.info({ event: "console.signed_in", ip: exchange.peer, name: principal.name, role: principal.role }, "console: operator signed in");
  audit.record({ actor: principal.name, role: principal.role, action: "sign-in", target: null, address: exchange.from });
  return front.signIn(req, res, principal);
}
