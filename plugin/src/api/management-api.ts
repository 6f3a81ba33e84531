import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/log.js";
import { secretsEqual } from "../core/secrets.js";
import type { SessionStore } from "../core/session-store.js";
import { FailureThrottle } from "../core/failure-throttle.js";
import { parseIpAddress } from "../net/ip-address.js";
import { subscriberBlockOf } from "../net/subscriber-block.js";
import type { StatsLedger } from "../stats/stats-ledger.js";
import type { PluginMetrics } from "../metrics/plugin-metrics.js";
import type { SessionRechecker } from "../sessions/session-rechecker.js";
import type { UserEditor } from "../users/user-editor.js";
import type { SecureTokenConfig } from "../config/securetoken-schema.js";
import type { DecisionLog } from "../console/decision-log.js";
import type { ViewerHistory } from "../console/viewer-history.js";
import type { ApiRequest, Route } from "./api-route.js";
import { sessionsRoutes } from "./sessions-routes.js";
import { statsRoutes } from "./stats-routes.js";
import { usersRoutes } from "./users-routes.js";
import { revocationRoutes, type RevocationDeps } from "./revocation.js";
import { clusterRoutes } from "./cluster-routes.js";
import { consoleRoutes } from "./console-routes.js";
import { ConsoleFront } from "./console-front.js";
import { streamSessionEvents } from "./events-stream.js";

/** Things the API reports that the plugin does not own (the bundled server's channels). */
export interface ApiProviders {
  channels?: () => unknown[];
  /**
   * Readiness for `/api/ready`: what is not up yet (the bundled server: its channels that are not on
   * air). Without it the API is ready whenever it serves. Answered without a credential, so it must
   * hold nothing secret (names and states only, no error lines).
   */
  notReady?: () => unknown[];
  /** The port viewers get HLS on (the bundled server's HTTP port), for the console's preview player. */
  hlsPort?: () => number | undefined;
}

/**
 * Probes for supervisors and load balancers (Docker HEALTHCHECK, Kubernetes, systemd watchdogs), answered
 * without the bearer token: a probe cannot hold a secret safely, and neither says more than up or not.
 * `/api/live`: 200 while the process serves requests. `/api/ready`: 200 when everything is up, else 503
 * with what is not.
 */
const PROBE_PATHS: ReadonlySet<string> = new Set(["/api/live", "/api/ready"]);

/** The plugin parts the API works on besides the registry. */
export interface ApiSources {
  ledger: StatsLedger | undefined;
  metrics: PluginMetrics;
  /** Re-checks sessions at once after a user is changed. */
  rechecker: SessionRechecker;
  /** Built-in users, when configured. */
  users: UserEditor | undefined;
  /** Closes and revocations on this edge and, with a cluster, on every edge. */
  revocation: RevocationDeps;
  /** The chain's recent decisions, for the console's Decisions page. */
  decisions: DecisionLog;
  /** Playing viewers per channel over the last hour, for the console's Channels page. */
  history: ViewerHistory;
  /** The securetoken settings in force (the console signs its preview links with them). */
  securetoken: () => SecureTokenConfig;
}

export interface ManagementApiOptions {
  bind: string;
  port: number;
  token: string;
  /** Tokens still accepted during a rotation. */
  previousTokens?: readonly string[];
}

/**
 * Failed credentials per client (address, IPv6 /64) that ban it, and for how long: 10 within a minute
 * ban for 5 minutes. A ban refuses only failed requests (429), never the right credential. At most
 * 10,000 clients are tracked (failures and bans each, least recent forgotten first).
 */
const API_THROTTLE = { maxFailures: 10, windowSec: 60, banSec: 300, maxKeys: 10_000 } as const;

/** Where the console signs in (the one route that takes the credential in a body). */
const SIGN_IN_PATH = "/api/console/sign-in";

/** Largest request body the API reads (it takes no large input). */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * ManagementApi is the operator's JSON API on its own port: sessions (list, get, close), revocation
 * of a user's or a token's sessions, built-in users, viewers per channel, channel states, statistics,
 * metrics and health, plus the operator console (`/console/`, its sign-in and its event stream). Every
 * route but the probes (PROBE_PATHS), the console's files and its sign-in needs the bearer token
 * (compared in constant time against every accepted token) or a signed-in console's cookie, with its
 * CSRF token for anything but GET. The right token always works; repeated failures from one client get 429 for their
 * failed requests only, so no other local process can lock the operator out.
 */
export class ManagementApi {
  readonly #server: Server;
  readonly #options: ManagementApiOptions;
  readonly #log: Logger;
  readonly #throttle: FailureThrottle;
  readonly #routes: Route[];
  readonly #providers: ApiProviders;
  readonly #console: ConsoleFront;
  readonly #registry: SessionStore;
  readonly #clock: Clock;

  constructor(options: ManagementApiOptions, registry: SessionStore, sources: ApiSources, providers: ApiProviders, clock: Clock, log: Logger) {
    this.#options = options;
    this.#log = log;
    this.#throttle = new FailureThrottle(clock, API_THROTTLE);
    this.#providers = providers;
    this.#registry = registry;
    this.#clock = clock;
    this.#console = new ConsoleFront(clock, providers.hlsPort, log);
    this.#routes = [
      { method: "GET", pattern: /^\/api\/health$/, handler: () => ({ status: 200, body: { status: "ok", liveSessions: registry.size } }) },
      { method: "GET", pattern: /^\/api\/channels$/, handler: () => ({ status: 200, body: { channels: providers.channels?.() ?? [] } }) },
      ...usersRoutes({ editor: sources.users, registry, rechecker: sources.rechecker, revocation: sources.revocation, log }),
      ...sessionsRoutes({ registry, clock, log, revocation: sources.revocation }),
      ...revocationRoutes(sources.revocation),
      ...clusterRoutes(sources.revocation.cluster),
      ...statsRoutes({ ledger: sources.ledger, metrics: sources.metrics, clock }),
      ...consoleRoutes({ decisions: sources.decisions, history: sources.history, securetoken: sources.securetoken, hlsPort: providers.hlsPort }),
    ];
    this.#server = createServer({ maxHeaderSize: 16 * 1024 }, (req, res) => void this.#handle(req, res));
  }

  /** Starts listening; resolves with the real port. */
  async listen(): Promise<number> {
    this.#server.listen(this.#options.port, this.#options.bind);
    await once(this.#server, "listening");
    const port = (this.#server.address() as AddressInfo).port;
    this.#log.info({ event: "api.listening", bind: this.#options.bind, port }, "management API listening");
    return port;
  }

  get port(): number | undefined {
    const address = this.#server.address();
    return address !== null && typeof address === "object" ? address.port : undefined;
  }

  async close(): Promise<void> {
    if (!this.#server.listening) return;
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const peer = req.socket.remoteAddress ?? "";
    // Failures are counted per subscriber block (IPv6 per /64), like viewers' failed credentials.
    const client = subscriberBlockOf(parseIpAddress(peer), peer);
    try {
      const path = (req.url ?? "/").split("?")[0]!;
      if (PROBE_PATHS.has(path) && (req.method === "GET" || req.method === "HEAD")) return this.#probe(path, res);
      if (path === "/console" || path.startsWith("/console/")) return this.#console.serveAsset(req, res, path);
      if (path === SIGN_IN_PATH && req.method === "POST") return await this.#signIn(req, res, peer, client);
      // "Am I signed in?" on every console load: a missing or expired cookie is no guessed credential (the
      // ids are 256 random bits), so it is answered 401 without counting toward a ban.
      if (path === "/api/console/session" && req.method === "GET") return this.#console.session(req, res);
      // The credential is checked first, so the right one always works: a ban only refuses failures
      // (everything on a loopback bind shares 127.0.0.1, and any local process could otherwise lock the
      // operator out). A failure costs two SHA-256 per accepted token and a map update, nothing more.
      // The console's cookie is a credential too, but a state-changing call with it also needs its CSRF
      // token: without it the request is refused (403) as a forgery, not counted as a wrong credential.
      if (!this.#authorized(req)) {
        const { credential, csrfMissing } = this.#console.cookieCredential(req);
        if (csrfMissing) return send(res, 403, { error: "a console request that changes something needs its X-CSRF-Token header" });
        if (credential === "none") return this.#refuse(req, res, peer, client);
      }
      if (path === "/api/console/sign-out" && req.method === "POST") return this.#console.signOut(req, res);
      if (path === "/api/events" && req.method === "GET") return streamSessionEvents(req, res, this.#registry, this.#clock, {});
      const body = await readBody(req);
      if (body === undefined) return send(res, 413, { error: `request body larger than ${MAX_BODY_BYTES} bytes` }, { Connection: "close" });
      const url = new URL(req.url ?? "/", "http://api.invalid");
      const method = req.method ?? "GET";
      for (const route of this.#routes) {
        const match = route.pattern.exec(url.pathname);
        if (match === null) continue;
        if (method !== route.method && !(method === "HEAD" && route.method === "GET")) continue;
        const params = decodeParams(match.slice(1));
        if (params === undefined) return send(res, 400, { error: "the path has a malformed %-escape" });
        const request: ApiRequest = { method, url, params, body, ip: parseIpAddress(peer)?.text ?? peer };
        const result = await route.handler(request);
        if (result.contentType !== undefined) return sendText(res, result.status, String(result.body), result.contentType);
        return send(res, result.status, result.body);
      }
      const known = this.#routes.some((r) => r.pattern.test(url.pathname));
      return send(res, known ? 405 : 404, { error: known ? "method not allowed" : "no such route" });
    } catch (error) {
      this.#log.error({ event: "api.failed", err: error }, "management API request failed");
      if (!res.headersSent) send(res, 500, { error: "internal error" });
    }
  }

  /** Answers a liveness or readiness probe (PROBE_PATHS). */
  #probe(path: string, res: ServerResponse): void {
    if (path === "/api/live") return send(res, 200, { status: "live" });
    const notReady = this.#providers.notReady?.() ?? [];
    if (notReady.length === 0) return send(res, 200, { status: "ready" });
    return send(res, 503, { status: "not-ready", notReady });
  }

  /** A failed credential: 429 while the client is banned (not counted again), else counted and 401. */
  #refuse(req: IncomingMessage, res: ServerResponse, peer: string, client: string): void {
    const banLeftMs = this.#throttle.banLeftMs(client);
    if (banLeftMs > 0) return send(res, 429, { error: "too many failed attempts; try later" }, { "Retry-After": String(Math.ceil(banLeftMs / 1000)) });
    const failures = this.#throttle.fail(client);
    if (failures > 0) {
      this.#log.warn({ event: "api.client_banned", ip: client, failures, banSec: API_THROTTLE.banSec }, "management API: address banned after repeated bad credentials");
    }
    this.#log.info({ event: "api.unauthorized", ip: peer, method: req.method, path: req.url?.split("?")[0] }, "management API: bad or missing credential");
    return send(res, 401, { error: "missing or wrong bearer token" }, { "WWW-Authenticate": 'Bearer realm="nms-viewer-auth"' });
  }

  #authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? "";
    const match = /^Bearer (.+)$/i.exec(header.trim());
    return match !== null && this.#accepted(match[1]!);
  }

  /** Whether `credential` is an accepted API token. */
  #accepted(credential: string): boolean {
    // Every accepted token is compared, with no early exit, so timing does not tell which one matched.
    let accepted = false;
    for (const token of [this.#options.token, ...(this.#options.previousTokens ?? [])]) accepted = secretsEqual(credential, token) || accepted;
    return accepted;
  }

  /**
   * The console's sign-in: `{"credential": "<api token>"}` as JSON (a plain form cannot send that type,
   * so no other site can sign a browser in). Right: a console session cookie. Wrong: counted and refused
   * exactly like a wrong bearer token (401, 429 while banned). The credential is never logged.
   */
  async #signIn(req: IncomingMessage, res: ServerResponse, peer: string, client: string): Promise<void> {
    if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) return send(res, 415, { error: "sign-in takes a JSON body" });
    const body = await readBody(req);
    if (body === undefined) return send(res, 413, { error: `request body larger than ${MAX_BODY_BYTES} bytes` }, { Connection: "close" });
    let credential: unknown;
    try {
      credential = (JSON.parse(body.toString("utf8")) as { credential?: unknown } | null)?.credential;
    } catch {
      return send(res, 400, { error: 'the body must be {"credential": "…"}' });
    }
    if (typeof credential !== "string" || !this.#accepted(credential)) return this.#refuse(req, res, peer, client);
    this.#log.info({ event: "console.signed_in", ip: peer }, "console: operator signed in");
    return this.#console.signIn(req, res);
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": String(Buffer.byteLength(text)), "Cache-Control": "no-store", ...headers });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, body: string, contentType: string): void {
  res.writeHead(status, { "Content-Type": contentType, "Content-Length": String(Buffer.byteLength(body)), "Cache-Control": "no-store" });
  res.end(body);
}

/**
 * The request body, or undefined when it is larger than the API accepts. An oversized body is not
 * read further (the stream is paused, the reply says 413 and closes the connection).
 */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  if (Number(req.headers["content-length"] ?? 0) > MAX_BODY_BYTES) {
    req.pause();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) return void chunks.push(chunk);
      req.off("data", onData);
      req.pause();
      resolve(undefined);
    };
    req.on("data", onData);
    req.once("end", () => resolve(Buffer.concat(chunks)));
    req.once("error", reject);
  });
}

function decodeParams(raw: readonly string[]): string[] | undefined {
  try {
    return raw.map((p) => decodeURIComponent(p));
  } catch {
    return undefined;
  }
}
