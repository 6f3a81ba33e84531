import type { IncomingMessage, ServerResponse } from "node:http";
import { parseIpAddress } from "../net/ip-address.js";
import type { ApiRequest, Route } from "../core/api-route.js";
import type { ApiCaller, ApiPrincipal } from "./api-guard.js";
import { roleAllows, type ApiRole } from "./api-roles.js";
import { readBody, refuseLargeBody } from "../core/api-body.js";
import { sendJson, sendText } from "../core/api-reply.js";
import { apiErrorBody } from "../core/api-errors.js";

/** One request on its way through the router. */
export interface ApiExchange extends ApiCaller {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /**
   * The request's path as received, without its query: what the rows match. Not normalized, so
   * `/console/../x` is a console file name (and refused as one), never another route.
   */
  readonly path: string;
  /** The client's address behind the trusted proxies (the audit's "from where"). */
  readonly from: string;
  /** Who the admitted credential is; set by the router before a `serve` row runs. */
  readonly actor?: ApiPrincipal;
}

/**
 * One row of the API's route table: a method (`*`: any; `GET` also takes HEAD unless `exactMethod`), a
 * path pattern, who may call it, and either a `reply` (the body is read first, at most 64 KiB, and the
 * pattern's groups become `params`) or a `serve` that answers the raw exchange itself (a probe, a console
 * file, a sign-in, an event stream).
 */
export type TableRoute = {
  readonly method: string;
  readonly pattern: RegExp;
  /** `open`: no credential (a probe, the console's files and sign-in); `credential`: ApiGuard's admission. */
  readonly access: "open" | "credential";
  /** The weakest role that may call a `credential` row (api/api-roles.ts `ROUTE_ROLES`). */
  readonly role?: ApiRole;
  /** HEAD is not taken as GET (a stream or a state check has no header-only form). */
  readonly exactMethod?: boolean;
} & ({ readonly reply: Route["handler"] } | { readonly serve: (exchange: ApiExchange) => void | Promise<void> });

/** Who a request is when it holds a credential; otherwise sends the refusal and returns undefined. */
export type Admission = (exchange: ApiExchange) => ApiPrincipal | undefined;

/**
 * ApiRouter is the management API's one route table: the first row whose method and pattern match a
 * request's path answers it. A row that needs a credential, and any request no row takes, pass the
 * admission first, so an unknown path says nothing without a credential (401, not 404). Then the body is
 * read (413 beyond 64 KiB) and a path some row knows under another method gets 405 (with `Allow`: the
 * methods its rows take), any other 404. A row's `role` is checked against the credential's before
 * anything runs: a weaker role gets 403 `VA_API_FORBIDDEN_ROLE`. Every error body carries a stable
 * `code` (core/api-errors.ts).
 */
export class ApiRouter {
  readonly #routes: readonly TableRoute[];
  readonly #admit: Admission;

  constructor(routes: readonly TableRoute[], admit: Admission) {
    this.#routes = routes;
    this.#admit = admit;
  }

  /** The table's rows, in order. */
  get routes(): readonly TableRoute[] {
    return this.#routes;
  }

  async handle(exchange: ApiExchange): Promise<void> {
    const { req, res, path } = exchange;
    const method = req.method ?? "GET";
    const found = this.#find(method, path);
    let actor: ApiPrincipal | undefined;
    if (found?.route.access !== "open") {
      actor = this.#admit(exchange);
      if (actor === undefined) return;
    }
    const needed = found?.route.access === "credential" ? (found.route.role ?? "admin") : undefined;
    if (actor !== undefined && needed !== undefined && !roleAllows(actor.role, needed))
      return sendJson(
        res,
        403,
        apiErrorBody("VA_API_FORBIDDEN_ROLE", `the credential "${actor.name}" (role ${actor.role}) may not do this: it needs ${needed}`),
      );
    if (found !== undefined && "serve" in found.route)
      return await found.route.serve(actor === undefined ? exchange : { ...exchange, actor });
    const body = await readBody(req);
    if (body === undefined) return refuseLargeBody(res);
    if (found === undefined || !("reply" in found.route)) {
      const allowed = this.#methodsFor(path);
      if (allowed.length === 0) return sendJson(res, 404, apiErrorBody("VA_API_NOT_FOUND", "no such route"));
      return sendJson(res, 405, apiErrorBody("VA_API_METHOD_NOT_ALLOWED", "method not allowed"), { Allow: allowed.join(", ") });
    }
    const params = decodeParams(found.match.slice(1));
    if (params === undefined) return sendJson(res, 400, apiErrorBody("VA_API_BAD_REQUEST", "the path has a malformed %-escape"));
    const url = new URL(req.url ?? "/", "http://api.invalid");
    const request: ApiRequest = {
      method,
      url,
      params,
      body,
      ip: parseIpAddress(exchange.peer)?.text ?? exchange.peer,
      from: exchange.from,
      ...(actor === undefined ? {} : { actor }),
    };
    const result = await found.route.reply(request);
    if (result.contentType !== undefined) return sendText(res, result.status, String(result.body), result.contentType);
    return sendJson(res, result.status, result.body, result.headers);
  }

  /** The methods the table takes on `path` (HEAD with a GET row that takes it), for a 405's `Allow` header. */
  #methodsFor(path: string): string[] {
    const methods = new Set<string>();
    for (const route of this.#routes) {
      if (!route.pattern.test(path)) continue;
      methods.add(route.method);
      if (route.method === "GET" && route.exactMethod !== true) methods.add("HEAD");
    }
    return [...methods];
  }

  #find(method: string, path: string): { route: TableRoute; match: RegExpExecArray } | undefined {
    for (const route of this.#routes) {
      if (!takesMethod(route, method)) continue;
      const match = route.pattern.exec(path);
      if (match !== null) return { route, match };
    }
    return undefined;
  }
}

function takesMethod(route: TableRoute, method: string): boolean {
  return route.method === "*" || method === route.method || (method === "HEAD" && route.method === "GET" && route.exactMethod !== true);
}

function decodeParams(raw: readonly string[]): string[] | undefined {
  try {
    return raw.map((p) => decodeURIComponent(p));
  } catch {
    return undefined;
  }
}
