import type { IncomingMessage, ServerResponse } from "node:http";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/log.js";
import { secretsEqual } from "../core/secrets.js";
import { FailureThrottle } from "../core/failure-throttle.js";
import type { ConsoleFront } from "../console/console-front.js";
import { sendJson } from "../core/api-reply.js";
import { apiErrorBody } from "../core/api-errors.js";

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

/** The API tokens: the one in force, those still accepted during a rotation, and the scraper's. */
export interface ApiTokens {
  token: string;
  previousTokens?: readonly string[];
  /** Accepted on `GET /metrics` only: a scraper's credential that opens nothing else. */
  metricsToken?: string;
}

/**
 * ApiGuard decides whether a request to the management API holds a credential: a bearer token
 * (compared in constant time against every accepted token) or a signed-in console's cookie, with its
 * CSRF token for anything but GET. The credential is checked first, so the right one always works: a ban
 * only refuses failures (everything on a loopback bind shares 127.0.0.1, and any local process could
 * otherwise lock the operator out). A failure costs two SHA-256 per accepted token and a map update.
 */
export class ApiGuard {
  readonly #tokens: ApiTokens;
  readonly #console: ConsoleFront;
  readonly #throttle: FailureThrottle;
  readonly #log: Logger;

  constructor(tokens: ApiTokens, console: ConsoleFront, clock: Clock, log: Logger) {
    this.#tokens = tokens;
    this.#console = console;
    this.#throttle = new FailureThrottle(clock, API_THROTTLE);
    this.#log = log;
  }

  /**
   * True when the request holds a credential; otherwise the refusal is already sent. The console's cookie
   * is a credential too, but a state-changing call with it also needs its CSRF token: without it the
   * request is refused (403) as a forgery, not counted as a wrong credential.
   */
  admit(req: IncomingMessage, res: ServerResponse, caller: ApiCaller): boolean {
    if (this.#bearerAccepted(req) || this.#metricsScrape(req)) return true;
    const { credential, csrfMissing } = this.#console.cookieCredential(req);
    if (csrfMissing) {
      sendJson(res, 403, apiErrorBody("VA_API_CSRF_MISSING", "a console request that changes something needs its X-CSRF-Token header"));
      return false;
    }
    if (credential === "none") {
      this.refuse(req, res, caller);
      return false;
    }
    return true;
  }

  /** Whether `credential` is an accepted API token. */
  accepted(credential: string): boolean {
    // Every accepted token is compared, with no early exit, so timing does not tell which one matched.
    let accepted = false;
    for (const token of [this.#tokens.token, ...(this.#tokens.previousTokens ?? [])])
      accepted = secretsEqual(credential, token) || accepted;
    return accepted;
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

  #bearerAccepted(req: IncomingMessage): boolean {
    const bearer = bearerOf(req);
    return bearer !== undefined && this.accepted(bearer);
  }

  /** `GET /metrics` with the metrics token; on any other request that token is a wrong credential. */
  #metricsScrape(req: IncomingMessage): boolean {
    const metricsToken = this.#tokens.metricsToken;
    if (metricsToken === undefined || req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") return false;
    const bearer = bearerOf(req);
    return bearer !== undefined && secretsEqual(bearer, metricsToken);
  }
}

function bearerOf(req: IncomingMessage): string | undefined {
  const match = /^Bearer (.+)$/i.exec((req.headers.authorization ?? "").trim());
  return match === null ? undefined : match[1]!;
}
