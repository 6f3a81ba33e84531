import type { IncomingMessage, ServerResponse } from "node:http";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/log.js";
import { loadConsoleAssets, type ConsoleAsset } from "./console-assets.js";
import { consoleCookie, consoleCookieOf, ConsoleSessions, CSRF_HEADER } from "./console-sessions.js";
import { apiErrorBody } from "../core/api-errors.js";
import type { ApiActor } from "../core/api-route.js";

/** Methods that change nothing; every other method with a console cookie also needs the CSRF header. */
const SAFE_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD"]);

/**
 * ConsoleFront is the management API's web side: it serves the console's files under `/console/`,
 * signs operators in with the API credential (a server-side session behind an HttpOnly, SameSite=Strict
 * cookie, plus a CSRF token for every state-changing call) and signs them out. Every console response
 * carries a strict Content-Security-Policy: scripts and styles from the console's own files only (no
 * inline code), media from blob: (hls.js feeds the <video> through MediaSource), and connections to the
 * API itself and to the HLS port of the host the console was opened on (the preview).
 */
export class ConsoleFront {
  readonly #assets: Map<string, ConsoleAsset>;
  readonly sessions: ConsoleSessions;
  readonly #hlsPort: (() => number | undefined) | undefined;

  /** A package without the console's files still has its API: `/console/` then answers 404, and the log says why. */
  constructor(clock: Clock, hlsPort: (() => number | undefined) | undefined, log: Logger) {
    this.#assets = new Map();
    try {
      this.#assets = loadConsoleAssets();
    } catch (error) {
      log.error({ event: "console.files_missing", err: error }, "operator console unavailable: its files are missing from the package");
    }
    this.sessions = new ConsoleSessions(clock);
    this.#hlsPort = hlsPort;
  }

  /** Answers a request for `/console` or a file under `/console/` (GET and HEAD only). */
  serveAsset(req: IncomingMessage, res: ServerResponse, path: string): void {
    // Relative, so that the redirect also works behind a reverse proxy that mounts the API under a prefix.
    if (path === "/console") return void res.writeHead(301, { Location: "console/", "Content-Length": "0" }).end();
    if (req.method !== "GET" && req.method !== "HEAD") return plain(res, 405, "method not allowed", { Allow: "GET, HEAD" });
    const name = path === "/console/" ? "index.html" : path.slice("/console/".length);
    const asset = this.#assets.get(name);
    if (asset === undefined) return plain(res, 404, "no such console file");
    res.writeHead(200, {
      "Content-Type": asset.contentType,
      "Content-Length": String(asset.body.length),
      "Cache-Control": "no-cache",
      ...this.securityHeaders(req),
    });
    res.end(req.method === "HEAD" ? undefined : asset.body);
  }

  /**
   * Who the request is when it has no bearer token: the credential that signed in a live console cookie,
   * and for a state-changing method only with its CSRF token (`csrfMissing` otherwise).
   */
  cookieCredential(req: IncomingMessage): { principal: ApiActor | undefined; csrfMissing: boolean } {
    const id = consoleCookieOf(req.headers.cookie);
    const actor = this.sessions.actorOf(id);
    if (actor === undefined) return { principal: undefined, csrfMissing: false };
    if (SAFE_METHODS.has(req.method ?? "GET")) return { principal: actor, csrfMissing: false };
    const given = req.headers[CSRF_HEADER];
    const ok = this.sessions.csrfMatches(id, typeof given === "string" ? given : undefined);
    return { principal: ok ? actor : undefined, csrfMissing: !ok };
  }

  /**
   * After a right credential: a new console session that keeps who signed in; the reply sets its cookie
   * and hands the page its CSRF token and the credential's name and role (the page hides what the role may not do).
   */
  signIn(req: IncomingMessage, res: ServerResponse, actor: ApiActor): void {
    const { id, csrf, maxAgeSec } = this.sessions.create(actor);
    json(res, 200, { csrf, name: actor.name, role: actor.role }, { "Set-Cookie": consoleCookie(id, maxAgeSec, isHttps(req)) });
  }

  /** The CSRF token, name and role of the caller's console session (the page asks on load), or 401. */
  session(req: IncomingMessage, res: ServerResponse): void {
    const id = consoleCookieOf(req.headers.cookie);
    const csrf = this.sessions.csrfOf(id);
    const actor = this.sessions.actorOf(id);
    if (csrf === undefined || actor === undefined) return json(res, 401, apiErrorBody("VA_API_UNAUTHORIZED", "not signed in"));
    json(res, 200, { csrf, name: actor.name, role: actor.role });
  }

  /** Deletes the caller's console session and its cookie. */
  signOut(req: IncomingMessage, res: ServerResponse): void {
    this.sessions.delete(consoleCookieOf(req.headers.cookie));
    json(res, 200, { signedOut: true }, { "Set-Cookie": consoleCookie("", 0, isHttps(req)) });
  }

  /** Content-Security-Policy and friends for the console's pages. */
  securityHeaders(req: IncomingMessage): Record<string, string> {
    const hls = this.#hlsOrigin(req);
    const policy = [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      "media-src 'self' blob:",
      `connect-src 'self'${hls === undefined ? "" : ` ${hls}`}`,
      "worker-src 'self' blob:",
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'self'",
      "frame-ancestors 'none'",
    ].join("; ");
    return {
      "Content-Security-Policy": policy,
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
      "X-Frame-Options": "DENY",
    };
  }

  /** The HLS server's origin as the browser reaches it: the host the console was opened on, at the HLS port. */
  #hlsOrigin(req: IncomingMessage): string | undefined {
    const port = this.#hlsPort?.();
    const hostname = hostnameOf(req.headers.host);
    if (port === undefined || port === 0 || hostname === undefined) return undefined;
    return `${isHttps(req) ? "https" : "http"}://${hostname}:${port}`;
  }
}

/** The host name of a Host header (no port), when it is a plain name or address; undefined otherwise. */
export function hostnameOf(host: string | undefined): string | undefined {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$/.exec(host ?? "");
  return match?.[1];
}

/** Whether the browser reached the console over HTTPS (directly, or through a proxy that says so). */
function isHttps(req: IncomingMessage): boolean {
  return (req.socket as { encrypted?: boolean }).encrypted === true || req.headers["x-forwarded-proto"] === "https";
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": String(Buffer.byteLength(text)),
    "Cache-Control": "no-store",
    ...headers,
  });
  res.end(text);
}

function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}
