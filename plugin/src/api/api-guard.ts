import type { IncomingMessage, ServerResponse } from "node:http";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/log.js";
import type { ApiActor } from "../core/api-route.js";
import { secretsEqual } from "../core/secrets.js";
import { FailureThrottle } from "../core/failure-throttle.js";
import type { ConsoleFront } from "../console/console-front.js";
import { sendJson } from "../core/api-reply.js";
import { apiErrorBody } from "../core/api-errors.js";
import type { ApiRole } from "./api-roles.js";

/**
 * Failed credentials per client (address, IPv6 /64) that ban it, and for how long: 10 within a minute
 * ban for 5 minutes. A ban refuses only failed requests (429), never the right credential. At most
 * 10,000 clients are tracked (failures and bans each, least recent forgotten first).
 */
const API_THROTTLE = { maxFailures: 10, windowSec: 60, banSec: 300, maxKeys: 10_000 } as const;

/** Who sent a request: the peer's address as received, and the client failures are counted for. */
export interface ApiCaller {
  readonly peer: string;
  /** The peer's subscriber block (IPv6 per /64), like viewers' failed credentials. */
  readonly client: string;
}

/** A named credential of `api.credentials`. */
export interface ApiCredential {
  readonly name: string;
  readonly token: string;
  readonly role: ApiRole;
}

/** The API credentials: the admin token in force, those still accepted during a rotation, the scraper's, and the named ones. */
export interface ApiTokens {
  token: string;
  previousTokens?: readonly string[];
  /** A `metrics` credential: `GET /metrics` only. */
  metricsToken?: string;
  /** Named credentials with their roles (`api.credentials`). */
  credentials?: readonly ApiCredential[];
}

/** Who a request's credential is: its name and role. */
export interface ApiPrincipal extends ApiActor {
  readonly role: ApiRole;
}

/** Every accepted credential with who it is: `api.token` and `api.previousTokens` are `admin`, `api.metricsToken` is `metrics`. */
function credentialsOf(tokens: ApiTokens): ApiCredential[] {
  return [
    { name: "admin", token: tokens.token, role: "admin" },
    ...(tokens.previousTokens ?? []).map((token) => ({ name: "admin", token, role: "admin" as const })),
    ...(tokens.metricsToken === undefined ? [] : [{ name: "metrics", token: tokens.metricsToken, role: "metrics" as const }]),
    ...(tokens.credentials ?? []),
  ];
}

/**
 * ApiGuard decides who a request to the management API is: a bearer token (compared in constant time
 * against every accepted credential) or a signed-in console's cookie, with its CSRF token for anything
 * but GET. The credential is checked first, so the right one always works: a ban only refuses failures
 * (everything on a loopback bind shares 127.0.0.1, and any local process could otherwise lock the
 * operator out). A failure costs two SHA-256 per accepted credential and a map update. What the
 * credential's role may call is the router's business (api/api-roles.ts).
 */
export class ApiGuard {
  readonly #credentials: readonly ApiCredential[];
  readonly #console: ConsoleFront;
  readonly #throttle: FailureThrottle;
  readonly #log: Logger;

  constructor(tokens: ApiTokens, console: ConsoleFront, clock: Clock, log: Logger) {
    this.#credentials = credentialsOf(tokens);
    this.#console = console;
    this.#throttle = new FailureThrottle(clock, API_THROTTLE);
    this.#log = log;
  }

  /**
   * Who the request is when it holds a credential; otherwise the refusal is already sent. The console's
   * cookie is a credential too, but a state-changing call with it also needs its CSRF token: without it
   * the request is refused (403) as a forgery, not counted as a wrong credential.
   */
  admit(req: IncomingMessage, res: ServerResponse, caller: ApiCaller): ApiPrincipal | undefined {
    const bearer = bearerOf(req);
    const byBearer = bearer === undefined ? undefined : this.identify(bearer);
    if (byBearer !== undefined) return byBearer;
    const { principal, csrfMissing } = this.#console.cookieCredential(req);
    if (csrfMissing) {
      sendJson(res, 403, apiErrorBody("VA_API_CSRF_MISSING", "a console request that changes something needs its X-CSRF-Token header"));
      return undefined;
    }
    if (principal === undefined) this.refuse(req, res, caller);
    // The console session keeps the role this guard gave at sign-in.
    return principal as ApiPrincipal | undefined;
  }

  /** Who `credential` is, or undefined when it is no accepted credential. */
  identify(credential: string): ApiPrincipal | undefined {
    // Every credential is compared, with no early exit, so timing does not tell which one matched.
    let found: ApiCredential | undefined;
    for (const candidate of this.#credentials) {
      if (secretsEqual(credential, candidate.token)) found ??= candidate;
    }
    return found === undefined ? undefined : { name: found.name, role: found.role };
  }

  /** A failed credential: 429 while the client is banned (not counted again), else counted and 401. */
  refuse(req: IncomingMessage, res: ServerResponse, { peer, client }: ApiCaller): void {
    const banLeftMs = this.#throttle.banLeftMs(client);
    if (banLeftMs > 0)
      return sendJson(res, 429, apiErrorBody("VA_API_BANNED", "too many failed attempts; try later"), {
        "Retry-After": String(Math.ceil(banLeftMs / 1000)),
      });
    const failures = this.#throttle.fail(client);
    if (failures > 0) {
      this.#log.warn(
        { event: "api.client_banned", ip: client, failures, banSec: API_THROTTLE.banSec },
        "management API: address banned after repeated bad credentials",
      );
    }
    this.#log.info(
      { event: "api.unauthorized", ip: peer, method: req.method, path: req.url?.split("?")[0] },
      "management API: bad or missing credential",
    );
    return sendJson(res, 401, apiErrorBody("VA_API_UNAUTHORIZED", "missing or wrong bearer token"), {
      "WWW-Authenticate": 'Bearer realm="nms-viewer-auth"',
    });
  }

  /** Whether the client is banned now (a refusal would be 429, not a counted failure). */
  banned(client: string): boolean {
    return this.#throttle.banLeftMs(client) > 0;
  }
}

function bearerOf(req: IncomingMessage): string | undefined {
  const match = /^Bearer (.+)$/i.exec((req.headers.authorization ?? "").trim());
  return match === null ? undefined : match[1]!;
}
