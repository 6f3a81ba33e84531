import type { IncomingMessage, ServerResponse } from "node:http";
import { parseIpAddress } from "../net/ip-address.js";
import type { ApiRequest, Route } from "../core/api-route.js";
import type { ApiCaller } from "./api-guard.js";
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
  /** HEAD is not taken as GET (a stream or a state check has no header-only form). */
  readonly exactMethod?: boolean;
} & ({ readonly reply: Route["handler"] } | { readonly serve: (exchange: ApiExchange) => void | Promise<void> });

/** Lets a request through when it holds a credential; otherwise sends the refusal and returns false. */
export type Admission = (exchange: ApiExchange) => boolean;

/**
 * ApiRouter is the management API's one route table: the first row whose method and pattern match a
 * request's path answers it. A row that needs a credential, and any request no row takes, pass the
 * admission first, so an unknown path says nothing without a credential (401, not 404). Then the body is
 * read (413 beyond 64 KiB) and a path some row knows under another method gets 405 (with `Allow`: the
 * methods its rows take), any other 404. Every error body carries a stable `code` (core/api-errors.ts).
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
    if (found?.route.access !== "open" && !this.#admit(exchange)) return;
    if (found !== undefined && "serve" in found.route) return await found.route.serve(exchange);
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
    const request: ApiRequest = { method, url, params, body, ip: parseIpAddress(exchange.peer)?.text ?? exchange.peer };
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
