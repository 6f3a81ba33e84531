import { API_ERROR_CODES, type ApiErrorCode } from "../core/api-errors.js";
import { PROTOCOLS } from "../core/auth-request.js";
import { LIMIT_KINDS, REVOCATION_KINDS } from "../core/cluster-seams.js";
import { END_REASONS, REFUSAL_STAGES } from "../core/viewer-session.js";
import { MAX_JSON_DEPTH } from "../core/api-route.js";
import { packageVersion } from "../core/package-version.js";
import { CONSOLE_COOKIE, CSRF_HEADER } from "../console/console-sessions.js";
import { WEBHOOK_EVENT_TYPES } from "../events/events-schema.js";
import { AUDIT_ACTIONS } from "../stats/audit-trail.js";
import { API_ROLES, ROUTE_ROLES } from "./api-roles.js";

/**
 * The management API's contract as an OpenAPI 3.1 document: served at `GET /api/openapi.json`, written to
 * `schema/openapi.json` by `scripts/openapi.ts`, and the schema every API test checks the answers it gets
 * against (test/helpers/openapi-check.ts). Closed sets (error codes, protocols, end reasons, revocation
 * kinds) come from the code's own constants, so the document cannot list a value the code does not know.
 * A new route needs its path here: test/api/openapi-document.integration.test.ts compares the two.
 */
export type OpenApiObject = Record<string, unknown>;

const ref = (name: string): OpenApiObject => ({ $ref: `#/components/schemas/${name}` });
const str = (description?: string): OpenApiObject => ({ type: "string", ...(description ? { description } : {}) });
const int = (description?: string): OpenApiObject => ({ type: "integer", minimum: 0, ...(description ? { description } : {}) });
const dateTime: OpenApiObject = { type: "string", format: "date-time" };
const msSinceEpoch = (description: string): OpenApiObject => ({ type: "integer", minimum: 0, description });
const arrayOf = (items: OpenApiObject): OpenApiObject => ({ type: "array", items });
const mapOf = (values: OpenApiObject): OpenApiObject => ({ type: "object", additionalProperties: values });

/** An object whose keys the code controls: every key listed, the `required` ones always there, no other. */
function closed(required: Record<string, OpenApiObject>, optional: Record<string, OpenApiObject> = {}): OpenApiObject {
  return {
    type: "object",
    required: Object.keys(required),
    properties: { ...required, ...optional },
    additionalProperties: false,
  };
}

const JSON_TYPE = "application/json";

function jsonContent(schema: OpenApiObject): OpenApiObject {
  return { [JSON_TYPE]: { schema } };
}

function jsonResponse(description: string, schema: OpenApiObject, headers?: OpenApiObject): OpenApiObject {
  return { description, content: jsonContent(schema), ...(headers ? { headers } : {}) };
}

/** An error answer whose `code` is one of `codes` (the closed list of core/api-errors.ts). */
function errorResponse(description: string, ...codes: ApiErrorCode[]): OpenApiObject {
  return jsonResponse(description, { ...ref("Error"), properties: { code: { enum: codes } } });
}

const responseRef = (name: string): OpenApiObject => ({ $ref: `#/components/responses/${name}` });

/** What every route behind the credential may answer besides its own answers. */
function guarded(method: string, readsBody: boolean): OpenApiObject {
  return {
    "401": responseRef("Unauthorized"),
    "403": responseRef(method === "get" ? "ForbiddenRole" : "Forbidden"),
    ...(readsBody ? { "413": responseRef("BodyTooLarge") } : {}),
    "429": responseRef("Banned"),
    "500": responseRef("Internal"),
  };
}

interface OperationSpec {
  summary: string;
  tags: string[];
  responses: OpenApiObject;
  parameters?: OpenApiObject[];
  requestBody?: OpenApiObject;
  /** No credential (a probe, the document itself, the console's files and sign-in). */
  open?: boolean;
  /** A `serve` row: it answers the exchange itself and never reads a body (so no 413). */
  raw?: boolean;
  security?: OpenApiObject[];
  description?: string;
}

function operation(method: string, path: string, spec: OperationSpec): OpenApiObject {
  const hasPathParams = path.includes("{");
  const role = spec.open ? undefined : ROUTE_ROLES[`${method.toUpperCase()} ${path}`];
  const roleNote =
    role === undefined ? undefined : `Needs a credential of role \`${role}\` or stronger (403 \`VA_API_FORBIDDEN_ROLE\` otherwise).`;
  const description = [spec.description, roleNote].filter((d) => d !== undefined).join("\n\n");
  const extra = spec.open
    ? {}
    : {
        ...guarded(method, spec.raw !== true),
        ...(hasPathParams
          ? { "400": errorResponse("A malformed %-escape in the path, or a bad request", "VA_API_BAD_REQUEST", "VA_API_BAD_JSON") }
          : {}),
      };
  return {
    operationId: `${method}${(path.endsWith("/") ? `${path}index` : path).replace(/\{([^}]+)\}/g, "By-$1").replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? "").toUpperCase())}`,
    summary: spec.summary,
    ...(description ? { description } : {}),
    ...(role === undefined ? {} : { "x-minimum-role": role }),
    tags: spec.tags,
    ...(spec.open ? { security: [] } : spec.security ? { security: spec.security } : {}),
    ...(spec.parameters ? { parameters: spec.parameters } : {}),
    ...(spec.requestBody ? { requestBody: spec.requestBody } : {}),
    responses: { ...extra, ...spec.responses },
  };
}

const pathParam = (name: string, description: string, schema: OpenApiObject = str()): OpenApiObject => ({
  name,
  in: "path",
  required: true,
  description,
  schema,
});
const queryParam = (name: string, description: string, schema: OpenApiObject = str()): OpenApiObject => ({
  name,
  in: "query",
  required: false,
  description,
  schema,
});

const rangeParams = [
  queryParam("from", "Start of the range (sessions by start time): ms since the epoch or ISO 8601; default 0"),
  queryParam("to", "End of the range, exclusive: ms since the epoch or ISO 8601; default now"),
];

const STATS_OFF = "Statistics are off (no `stats.file`)";
const USERS_OFF = "No built-in users, or no such user";

function schemas(): Record<string, OpenApiObject> {
  const session = {
    id: str(),
    protocol: ref("Protocol"),
    app: str(),
    channel: str(),
    ip: str(),
    userAgent: str(),
    state: { enum: ["checking", "playing", "ended"] },
    startedAt: msSinceEpoch("Start of the check"),
    lastActivityAt: msSinceEpoch("The viewer's last activity (a playing RTMP/FLV viewer: now)"),
    bytesOut: int("Bytes sent to the viewer"),
  };
  const usageRow = {
    key: str("The channel (`app/name`) or the user id or session name"),
    sessions: int(),
    watchSeconds: int(),
    bytesOut: int(),
  };
  const revocation = (kind: string, keyName: string, keyDescription: string): OpenApiObject =>
    closed({ kind: { const: kind }, [keyName]: str(keyDescription), until: dateTime });
  const revocationCreated = (kind: string, keyName: string, keyDescription: string): OpenApiObject =>
    closed({
      kind: { const: kind },
      [keyName]: str(keyDescription),
      until: dateTime,
      closed: arrayOf(str()),
      location: str("The path that lifts it with DELETE"),
    });
  return {
    Error: {
      type: "object",
      description: "Every error answer. Branch on `code` (stable); the sentence may be reworded.",
      required: ["error", "code"],
      properties: {
        error: str("What is wrong, as a sentence"),
        code: { enum: [...API_ERROR_CODES] },
        issues: arrayOf(ref("Issue")),
      },
      additionalProperties: false,
    },
    Issue: closed({ path: str("The key path, e.g. `ips[0]`"), message: str() }, { value: { description: "The offending value" } }),
    Protocol: { enum: [...PROTOCOLS] },
    EndReason: { enum: [...END_REASONS] },
    Session: closed(session, {
      name: str("The session name a step gave"),
      userId: str("The user id a step gave"),
      playingSince: msSinceEpoch("When the chain's allow let media flow"),
      endedAt: msSinceEpoch("When it ended"),
      endReason: ref("EndReason"),
      node: str("The edge it plays on (with a cluster)"),
    }),
    SessionPage: closed(
      { total: int("Sessions matching the filters"), offset: int(), sessions: arrayOf(ref("Session")) },
      { partial: { const: true, description: "Redis is away: this edge's sessions only" } },
    ),
    Closed: closed({ closed: arrayOf(str("A session id")) }),
    User: closed({
      login: str(),
      password: { enum: ["scrypt", "plaintext", "none"], description: "How the password is stored" },
      tokens: arrayOf(str("Masked")),
      ips: arrayOf(str()),
      expires: { type: ["string", "null"], format: "date-time" },
      maxConnections: { type: ["integer", "null"], minimum: 0 },
      packages: arrayOf(str()),
      enabled: { type: "boolean" },
      comment: str(),
    }),
    UserInput: {
      type: "object",
      description: "A user entry as in the users file (PATCH: any subset; null removes a key).",
      properties: {
        login: str(),
        password: str("Plain text; stored as an scrypt hash"),
        tokens: arrayOf(str()),
        ips: arrayOf(str()),
        expires: { type: ["string", "null"] },
        maxConnections: { type: ["integer", "null"] },
        packages: arrayOf(str()),
        enabled: { type: "boolean" },
        comment: str(),
      },
    },
    UserChange: closed({ user: ref("User"), closedSessions: arrayOf(str("A session id")) }),
    RevocationRequest: {
      type: "object",
      description: 'Exactly one of "token", "sign", "user" or "ip", optionally with "ttlSec".',
      properties: { token: str(), sign: str(), user: str(), ip: str(), ttlSec: { type: "integer", minimum: 1 } },
      additionalProperties: false,
    },
    RevocationKind: { enum: [...REVOCATION_KINDS] },
    Revocation: {
      oneOf: [
        revocation("token", "tokenDigest", "The credential's SHA-256 digest, never the credential"),
        revocation("user", "user", "The user id or session name"),
        revocation("ip", "ip", "The viewer address"),
      ],
    },
    RevocationCreated: {
      oneOf: [
        revocationCreated("token", "tokenDigest", "The credential's SHA-256 digest"),
        revocationCreated("user", "user", "The user id or session name"),
        revocationCreated("ip", "ip", "The viewer address"),
      ],
    },
    UsageRow: closed(usageRow),
    DailyUsageRow: closed({ ...usageRow, day: str("The UTC day, YYYY-MM-DD") }),
    RefusalRow: closed({
      reason: { enum: [...END_REASONS, "other"] },
      stage: { enum: [...REFUSAL_STAGES, "none", "other"] },
      channel: str(),
      protocol: { enum: [...PROTOCOLS, "other"] },
      identified: { type: "boolean" },
      count: int(),
      firstMinute: dateTime,
      lastMinute: dateTime,
    }),
    NodeStats: closed({ channels: arrayOf(ref("UsageRow")), at: dateTime }),
    ClusterStatus: closed(
      {
        node: str(),
        redis: { enum: ["up", "down"] },
        onRedisDown: { enum: ["local", "deny"] },
        localAdmissions: int(),
        refusedWhileDown: int(),
        leaseMs: int(),
      },
      { sessionsPerNode: mapOf(int()) },
    ),
    DecisionEntry: closed(
      {
        at: msSinceEpoch("When the chain decided"),
        verdict: { enum: ["allow", "deny"] },
        step: str(),
        reason: str(),
        protocol: str(),
        app: str(),
        channel: str(),
        ip: str(),
        userAgent: str(),
        sessionId: str(),
      },
      { user: str("The user or session name an allow named") },
    ),
    PerProtocol: {
      type: "object",
      propertyNames: ref("Protocol"),
      additionalProperties: int(),
    },
    Csrf: closed({ csrf: str(`The console session's CSRF token, sent back as ${CSRF_HEADER}`) }),
    ConsoleSession: closed({
      csrf: str(`The console session's CSRF token, sent back as ${CSRF_HEADER}`),
      name: str("The name of the credential that signed in (`admin` for api.token)"),
      role: { enum: [...API_ROLES], description: "Its role: the console hides what the role may not do" },
    }),
    AuditEntry: closed({
      at: dateTime,
      actor: str("The credential's name; `unknown` for a failed sign-in"),
      role: { type: ["string", "null"], enum: [...API_ROLES, null], description: "The credential's role; null for a failed sign-in" },
      action: { enum: [...AUDIT_ACTIONS] },
      target: {
        type: ["string", "null"],
        description:
          "A session id, a user's login, a revocation as `kind:key` (a token by its digest), a webhook (`*`: all); null when none",
      },
      address: str("The client's address, behind auth.trustedProxies"),
    }),
    ...explainSchemas(),
    ...webhookSchemas(),
  };
}

const nullable = (schema: OpenApiObject): OpenApiObject => ({ oneOf: [{ type: "null" }, schema] });
const nullableDateTime: OpenApiObject = { type: ["string", "null"], format: "date-time" };

/**
 * The answer of `POST /api/explain` (explain/explainer.ts: `ExplainAnswer`). The explain folder sits on
 * this floor, so its verdict sets are spelled here; the explain tests check real answers against them.
 */
function explainSchemas(): Record<string, OpenApiObject> {
  return {
    ExplainRequest: closed(
      {
        url: { type: "string", minLength: 1, maxLength: 16_384, description: "What the viewer opens (rtmp, http(s), ws(s))" },
        ip: { type: "string", minLength: 1, maxLength: 64, description: "The address the request comes from (the TCP peer)" },
      },
      {
        userAgent: { type: "string", maxLength: 1024 },
        headers: { type: "object", additionalProperties: { type: "string", maxLength: 8192 } },
        cacheOnly: { type: "boolean", description: "true: the backend is not called; its cached verdict, or `unknown`" },
      },
    ),
    ExplainStep: closed({
      step: str("A chain step, or a stage around it: `input`, `hls-gate`, `hls-key`, `default`, `limits`"),
      verdict: { enum: ["allow", "deny", "pass", "failed", "unknown"] },
      reason: str(),
      ms: { type: "number", minimum: 0 },
    }),
    ExplainIdentity: closed(
      {},
      {
        name: str(),
        userId: str(),
        maxSessions: int(),
        channels: { oneOf: [{ const: "all" }, arrayOf(str())], description: "A built-in user's channels" },
      },
    ),
    LimitPreview: closed(
      {
        kind: { enum: [...LIMIT_KINDS] },
        what: str(),
        max: int(),
        playing: int("Sessions of this edge playing under the limit"),
        outcome: { enum: ["room", "refuse", "close-oldest"] },
      },
      { wouldClose: arrayOf(str("A session id, oldest first")) },
    ),
    ExplainLimits: closed({
      refusal: { type: ["string", "null"], description: "Why a limit would refuse the play (reject-new)" },
      limits: arrayOf(ref("LimitPreview")),
      joins: nullable(closed({ sessionId: str() }, { user: str() })),
      sameViewer: arrayOf(str("A session id")),
      edgeOnly: { type: "boolean", description: "With a cluster: counts are this edge's own" },
    }),
    ExplainAnswer: closed(
      {
        verdict: { enum: ["allow", "deny", "unknown"] },
        protocol: ref("Protocol"),
        app: str(),
        channel: str(),
        ip: str(),
        decidedBy: str("The deciding chain step or stage"),
        reason: str(),
        steps: arrayOf(ref("ExplainStep")),
        identity: nullable(ref("ExplainIdentity")),
        limits: ref("ExplainLimits"),
      },
      { redirectUrl: str("A deny's redirect") },
    ),
  };
}

/** `GET /api/webhooks` and `POST /api/webhooks/test` (events/webhook-events.ts), never a secret. */
function webhookSchemas(): Record<string, OpenApiObject> {
  return {
    WebhookStatus: closed({
      name: str(),
      url: str("Without credentials or query"),
      events: arrayOf({ enum: [...WEBHOOK_EVENT_TYPES] }),
      pending: int("Events not delivered yet"),
      oldestPendingAgeSec: { type: ["integer", "null"], minimum: 0, description: "Age of the oldest pending event" },
      lastError: { type: ["string", "null"] },
      lastErrorAt: nullableDateTime,
      lastSuccessAt: nullableDateTime,
      consecutiveFailures: int("Failed attempts in a row of the event at the head of the queue"),
    }),
    WebhookTestQueued: closed({
      id: {
        type: "string",
        pattern: "^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
        description: "The test event's id (UUIDv7)",
      },
      webhooks: arrayOf(str("A webhook it was queued for")),
    }),
  };
}

function components(): OpenApiObject {
  return {
    schemas: schemas(),
    securitySchemes: {
      bearer: { type: "http", scheme: "bearer", description: "`api.token` (or one of `api.previousTokens`)" },
      metricsBearer: { type: "http", scheme: "bearer", description: "`api.metricsToken`: accepted on `GET /metrics` only" },
      consoleCookie: {
        type: "apiKey",
        in: "cookie",
        name: CONSOLE_COOKIE,
        description: `A signed-in console's cookie; any method but GET also needs the ${CSRF_HEADER} header`,
      },
    },
    responses: {
      Unauthorized: {
        ...errorResponse("Missing or wrong credential", "VA_API_UNAUTHORIZED"),
        headers: { "WWW-Authenticate": { schema: str(), required: true } },
      },
      Banned: {
        ...errorResponse("Too many failed credentials from this client: only failed requests are refused", "VA_API_BANNED"),
        headers: { "Retry-After": { schema: str("Seconds"), required: true } },
      },
      CsrfMissing: errorResponse("A console request that changes something without its CSRF token", "VA_API_CSRF_MISSING"),
      ForbiddenRole: errorResponse("The credential's role may not call this route", "VA_API_FORBIDDEN_ROLE"),
      Forbidden: errorResponse(
        "A console request without its CSRF token, or a credential whose role may not call this route",
        "VA_API_CSRF_MISSING",
        "VA_API_FORBIDDEN_ROLE",
      ),
      BodyTooLarge: errorResponse("The body is over 64 KiB", "VA_API_BODY_TOO_LARGE"),
      NotFound: errorResponse("No such route", "VA_API_NOT_FOUND"),
      MethodNotAllowed: {
        ...errorResponse("The path exists under other methods", "VA_API_METHOD_NOT_ALLOWED"),
        headers: { Allow: { schema: str("The methods the path takes"), required: true } },
      },
      Internal: errorResponse("An unexpected failure", "VA_API_INTERNAL"),
    },
  };
}

function probePaths(): OpenApiObject {
  return {
    "/api/live": {
      get: operation("get", "/api/live", {
        summary: "Liveness probe: 200 while the process serves requests",
        tags: ["probes"],
        open: true,
        responses: { "200": jsonResponse("Live", closed({ status: { const: "live" } })) },
      }),
    },
    "/api/ready": {
      get: operation("get", "/api/ready", {
        summary: "Readiness probe: 200 when everything is up, else 503 with what is not",
        tags: ["probes"],
        open: true,
        responses: {
          "200": jsonResponse("Ready", closed({ status: { const: "ready" } })),
          "503": jsonResponse(
            "Not ready",
            closed({ status: { const: "not-ready" }, notReady: arrayOf({ description: "What is not up (names and states only)" }) }),
          ),
        },
      }),
    },
    "/api/openapi.json": {
      get: operation("get", "/api/openapi.json", {
        summary: "This document",
        description: "Public: it describes the API and holds no secret. Revalidate with If-None-Match.",
        tags: ["probes"],
        open: true,
        responses: {
          "200": jsonResponse(
            "The OpenAPI 3.1 document",
            {
              type: "object",
              required: ["openapi", "info", "paths", "components"],
              properties: {
                openapi: { const: "3.1.0" },
                info: { type: "object", required: ["title", "version"], properties: { title: str(), version: str() } },
                paths: { type: "object" },
                components: { type: "object" },
              },
            },
            { ETag: { schema: str(), required: true } },
          ),
          "304": { description: "Not modified (If-None-Match matched the ETag)" },
        },
      }),
    },
  };
}

function consolePaths(): OpenApiObject {
  const file = (summary: string, ok: OpenApiObject): OperationSpec => ({
    summary,
    tags: ["console"],
    open: true,
    responses: {
      "200": ok,
      "404": { description: "No such console file", content: { "text/plain": { schema: str() } } },
    },
  });
  // The console's files answer any other method themselves (405, plain text): `x-other-methods` says so,
  // without inventing operations a client generator would turn into calls.
  const otherMethods = { "x-other-methods": { "405": { description: "Not GET or HEAD", content: { "text/plain": { schema: str() } } } } };
  return {
    "/console": {
      get: operation("get", "/console", {
        summary: "Redirects to /console/",
        tags: ["console"],
        open: true,
        responses: { "301": { description: "To `console/`", headers: { Location: { schema: str(), required: true } } } },
      }),
    },
    "/console/": {
      ...otherMethods,
      get: operation(
        "get",
        "/console/",
        file("The operator console's page", { description: "The page", content: { "text/html": { schema: str() } } }),
      ),
    },
    "/console/{file}": {
      ...otherMethods,
      get: operation("get", "/console/{file}", {
        ...file("One of the console's files", { description: "The file", content: { "*/*": { schema: {} } } }),
        parameters: [pathParam("file", "A file of the console (a fixed table; no other file is served)")],
      }),
    },
    "/console/vendor/{file}": {
      ...otherMethods,
      get: operation("get", "/console/vendor/{file}", {
        ...file("One of the console's vendored libraries (htm with preact, hls.js)", {
          description: "The file",
          content: { "text/javascript": { schema: str() } },
        }),
        parameters: [pathParam("file", "A vendored file of the console (a fixed table)")],
      }),
    },
    "/api/console/sign-in": {
      post: operation("post", "/api/console/sign-in", {
        summary: "Signs the console in with an API credential: a session cookie, its CSRF token, and who signed in",
        tags: ["console"],
        open: true,
        requestBody: {
          required: true,
          content: jsonContent(closed({ credential: str("An API token (api.token, or one of api.credentials)") })),
        },
        responses: {
          "200": jsonResponse("Signed in", ref("ConsoleSession"), { "Set-Cookie": { schema: str(), required: true } }),
          "403": errorResponse("A `metrics` credential: it cannot sign in", "VA_API_FORBIDDEN_ROLE"),
          "400": errorResponse("The body is not JSON", "VA_API_BAD_REQUEST"),
          "401": responseRef("Unauthorized"),
          "413": responseRef("BodyTooLarge"),
          "415": errorResponse("Not a JSON body", "VA_API_UNSUPPORTED_MEDIA_TYPE"),
          "429": responseRef("Banned"),
          "500": responseRef("Internal"),
        },
      }),
    },
    "/api/console/session": {
      get: operation("get", "/api/console/session", {
        summary: "The console session's CSRF token and who signed in, or 401 when not signed in",
        tags: ["console"],
        open: true,
        responses: {
          "200": jsonResponse("Signed in", ref("ConsoleSession")),
          "401": errorResponse("Not signed in (not counted toward a ban)", "VA_API_UNAUTHORIZED"),
          "500": responseRef("Internal"),
        },
      }),
    },
    "/api/console/sign-out": {
      post: operation("post", "/api/console/sign-out", {
        summary: "Ends the console session and clears its cookie",
        tags: ["console"],
        raw: true,
        responses: { "200": jsonResponse("Signed out", closed({ signedOut: { const: true } })) },
      }),
    },
    "/api/events": {
      get: operation("get", "/api/events", {
        summary: "Server-Sent Events of the live sessions: snapshot, opened, playing, ended, bytes",
        tags: ["console"],
        raw: true,
        responses: { "200": { description: "The event stream", content: { "text/event-stream": { schema: str() } } } },
      }),
    },
    "/api/decisions": {
      get: operation("get", "/api/decisions", {
        summary: "The chain's recent decisions, newest first",
        tags: ["console"],
        parameters: [
          queryParam("verdict", "allow or deny"),
          queryParam("step", "The deciding step"),
          queryParam("channel", "The channel"),
          queryParam("ip", "The viewer address"),
          queryParam("q", "Text anywhere, case-insensitive"),
          queryParam("limit", "1 to 1000; default 200", { type: "string", pattern: "^\\d+$" }),
        ],
        responses: {
          "200": jsonResponse(
            "The decisions",
            closed({
              decisions: arrayOf(ref("DecisionEntry")),
              anonymousRefusals: closed({ sinceMs: msSinceEpoch("Start of the count"), total: int(), byStep: mapOf(int()) }),
            }),
          ),
          "400": errorResponse("A bad limit", "VA_API_BAD_REQUEST"),
        },
      }),
    },
    "/api/viewers/history": {
      get: operation("get", "/api/viewers/history", {
        summary: "Playing viewers per channel and protocol, now and every 10 s over the last hour",
        tags: ["console"],
        responses: {
          "200": jsonResponse(
            "Viewers",
            closed({
              now: mapOf(ref("PerProtocol")),
              history: mapOf(arrayOf(closed({ at: msSinceEpoch("When counted"), viewers: ref("PerProtocol") }))),
            }),
          ),
        },
      }),
    },
    "/api/overview": {
      get: operation("get", "/api/overview", {
        summary: "The console's landing page: viewers now, bandwidth, decisions per minute, backend health, channels and edges",
        description:
          "Read from counters kept as things happen (the same sessions, decisions and backend calls `/metrics` counts), never from every session. " +
          "`decisions` leaves out the server's own processes (step `internal`). `backend` is null without a backend step, `channels` without " +
          "the bundled server, `cluster` without a `cluster` section (its `edges` null while Redis is away).",
        tags: ["console"],
        responses: {
          "200": jsonResponse(
            "The overview",
            closed({
              at: msSinceEpoch("When computed"),
              viewers: closed({ total: int(), perProtocol: ref("PerProtocol"), perChannel: mapOf(ref("PerProtocol")) }),
              bandwidth: closed({
                bytesPerSec: int("Bytes sent to viewers per second over the window"),
                windowSec: { type: "number", minimum: 0, description: "The window the rate spans (up to 60 s)" },
                sentBytes: int("Bytes sent to viewers in all, at the window's end"),
              }),
              decisions: closed({
                admitted: int("Allowed by the chain over the last hour"),
                refused: mapOf(int()),
                perMinute: arrayOf(closed({ minute: msSinceEpoch("The minute's start"), admitted: int(), refused: mapOf(int()) })),
              }),
              backend: nullable(
                closed({
                  calls: int(),
                  errors: int("Answers 5xx and calls without an answer"),
                  unreachable: int("Calls that got no answer (refused, timeout, DNS, TLS, reset)"),
                  p50Ms: nullable({ type: "number", minimum: 0 }),
                  p99Ms: nullable({ type: "number", minimum: 0 }),
                  cacheHitRatio: nullable({ type: "number", minimum: 0, maximum: 1 }),
                }),
              ),
              channels: nullable(arrayOf(closed({ channel: str("`app/id`"), up: { type: "boolean" }, restarts: mapOf(int()) }))),
              cluster: nullable(
                closed({
                  node: str("This edge"),
                  redis: { enum: ["up", "down"] },
                  onRedisDown: { enum: ["local", "deny"] },
                  edges: nullable(arrayOf(closed({ node: str(), sessions: int("Sessions the edge shares") }))),
                }),
              ),
            }),
          ),
        },
      }),
    },
    "/api/history": {
      get: operation("get", "/api/history", {
        summary: "Concurrent viewers of a channel (or all) per minute over 24 h, or per 10 minutes over 7 days",
        description:
          "Each point is the most viewers at once within its bucket, counted every 10 s; the last point is the bucket now open. " +
          "Kept in the statistics database (`stats.file`) when set, so it survives a restart.",
        tags: ["console"],
        parameters: [
          queryParam("channel", "`app/name`; absent: every channel summed"),
          queryParam("range", "`24h` (default, 60 s buckets) or `7d` (600 s buckets)", { enum: ["24h", "7d"] }),
        ],
        responses: {
          "200": jsonResponse(
            "The series",
            closed({
              channel: nullable(str()),
              range: { enum: ["24h", "7d"] },
              resolutionSec: int(),
              points: arrayOf(closed({ at: msSinceEpoch("The bucket's start"), viewers: int() })),
            }),
          ),
          "400": errorResponse("A bad range", "VA_API_BAD_REQUEST"),
        },
      }),
    },
    "/api/console/preview": {
      get: operation("get", "/api/console/preview", {
        summary: "A signed HLS link to a channel's playlist, for the console's preview player",
        tags: ["console"],
        parameters: [queryParam("channel", "`app/name`")],
        responses: {
          "200": jsonResponse(
            "The link",
            closed({ port: { type: "integer", minimum: 1 }, path: str("Path and query"), expiresInSec: int() }),
          ),
          "400": errorResponse("A bad channel", "VA_API_BAD_REQUEST"),
          "404": errorResponse("No HLS server to preview from", "VA_API_FEATURE_OFF"),
          "409": errorResponse("No securetoken secret to sign with", "VA_API_CONFLICT"),
        },
      }),
    },
  };
}

function sessionPaths(): OpenApiObject {
  const id = pathParam("id", "The session id");
  return {
    "/api/health": {
      get: operation("get", "/api/health", {
        summary: "Up, with the number of live sessions",
        tags: ["sessions"],
        responses: { "200": jsonResponse("Up", closed({ status: { const: "ok" }, liveSessions: int() })) },
      }),
    },
    "/api/channels": {
      get: operation("get", "/api/channels", {
        summary: "The bundled server's channels: state, restarts, last ffmpeg error (empty in a plugin)",
        tags: ["sessions"],
        responses: { "200": jsonResponse("Channels", closed({ channels: arrayOf({ type: "object" }) })) },
      }),
    },
    "/api/sessions": {
      get: operation("get", "/api/sessions", {
        summary: "Live sessions, oldest first, filtered, a page at a time",
        tags: ["sessions"],
        parameters: [
          queryParam("channel", "The channel name"),
          queryParam("user", "The user id or session name"),
          queryParam("ip", "The viewer address"),
          queryParam("protocol", "The protocol", ref("Protocol")),
          queryParam("limit", "Page size, 0 to 10000", { type: "string", pattern: "^\\d+$" }),
          queryParam("offset", "Sessions to skip", { type: "string", pattern: "^\\d+$" }),
        ],
        responses: {
          "200": jsonResponse("A page", ref("SessionPage")),
          "400": errorResponse("A bad limit or offset", "VA_API_BAD_REQUEST"),
        },
      }),
    },
    "/api/sessions/{id}": {
      get: operation("get", "/api/sessions/{id}", {
        summary: "One live session",
        tags: ["sessions"],
        parameters: [id],
        responses: { "200": jsonResponse("The session", ref("Session")), "404": errorResponse("No such live session", "VA_API_NOT_FOUND") },
      }),
      delete: operation("delete", "/api/sessions/{id}", {
        summary: "Closes a session now (end reason closed-by-api)",
        tags: ["sessions"],
        parameters: [id],
        responses: { "200": jsonResponse("Closed", ref("Closed")), "404": errorResponse("No such live session", "VA_API_NOT_FOUND") },
      }),
    },
    "/api/viewers": {
      get: operation("get", "/api/viewers", {
        summary: "Playing viewers per channel (`app/name`)",
        tags: ["sessions"],
        responses: {
          "200": jsonResponse("Viewers", closed({ viewers: mapOf(int()) }, { partial: { const: true, description: "This edge only" } })),
        },
      }),
    },
    "/api/sessions/revoke": {
      post: operation("post", "/api/sessions/revoke", {
        summary: "The older spelling of POST /api/revocations",
        tags: ["revocations"],
        requestBody: { required: true, content: jsonContent(ref("RevocationRequest")) },
        responses: {
          "200": jsonResponse("Revoked", closed({ closed: arrayOf(str()), until: dateTime })),
          "400": errorResponse("A bad body", "VA_API_BAD_REQUEST", "VA_API_BAD_JSON"),
        },
      }),
    },
    "/api/revocations": {
      get: operation("get", "/api/revocations", {
        summary: "Revocations in force (tokens as digests)",
        tags: ["revocations"],
        responses: { "200": jsonResponse("Revocations", closed({ revocations: arrayOf(ref("Revocation")) })) },
      }),
      post: operation("post", "/api/revocations", {
        summary: "Revokes a credential, user or address: closes its sessions on every edge and refuses it until it lapses",
        tags: ["revocations"],
        requestBody: { required: true, content: jsonContent(ref("RevocationRequest")) },
        responses: {
          "201": jsonResponse("Revoked", ref("RevocationCreated"), { Location: { schema: str(), required: true } }),
          "400": errorResponse("A bad body", "VA_API_BAD_REQUEST", "VA_API_BAD_JSON"),
        },
      }),
    },
    "/api/revocations/{kind}/{key}": {
      delete: operation("delete", "/api/revocations/{kind}/{key}", {
        summary: "Lifts a revocation (a token by the credential or by its listed digest)",
        tags: ["revocations"],
        parameters: [
          pathParam("kind", "What the key is", { enum: ["token", "token-digest", "user", "ip"] }),
          pathParam("key", "The credential, digest, user or address"),
        ],
        responses: {
          "200": jsonResponse("Lifted", closed({ lifted: { const: true } })),
          "404": errorResponse("No such revocation in force", "VA_API_NOT_FOUND"),
        },
      }),
    },
  };
}

function userPaths(): OpenApiObject {
  const login = pathParam("login", "The user's login");
  const userBody = { required: true, content: jsonContent(ref("UserInput")) };
  const bad = errorResponse("A bad body (issues name each key path)", "VA_API_BAD_REQUEST", "VA_API_BAD_JSON");
  const off = errorResponse(USERS_OFF, "VA_API_FEATURE_OFF", "VA_API_NOT_FOUND");
  const conflict = errorResponse("Login or token taken, unknown package, users file broken, or read-only users", "VA_API_CONFLICT");
  const changed = jsonResponse("The user as stored now, and the sessions the change closed", ref("UserChange"));
  return {
    "/api/users": {
      get: operation("get", "/api/users", {
        summary: "Built-in users (no passwords; tokens masked)",
        tags: ["users"],
        responses: { "200": jsonResponse("Users", closed({ editable: { type: "boolean" }, users: arrayOf(ref("User")) })), "404": off },
      }),
      post: operation("post", "/api/users", {
        summary: "Creates a user in the users file",
        tags: ["users"],
        requestBody: userBody,
        responses: { "201": changed, "400": bad, "404": off, "409": conflict },
      }),
    },
    "/api/users/{login}": {
      get: operation("get", "/api/users/{login}", {
        summary: "One user",
        tags: ["users"],
        parameters: [login],
        responses: { "200": jsonResponse("The user", closed({ user: ref("User") })), "404": off },
      }),
      put: operation("put", "/api/users/{login}", {
        summary: "Replaces a user's entry; playing sessions are re-checked now",
        tags: ["users"],
        parameters: [login],
        requestBody: userBody,
        responses: { "200": changed, "400": bad, "404": off, "409": conflict },
      }),
      patch: operation("patch", "/api/users/{login}", {
        summary: "Changes some keys of a user (null removes one); playing sessions are re-checked now",
        tags: ["users"],
        parameters: [login],
        requestBody: userBody,
        responses: { "200": changed, "400": bad, "404": off, "409": conflict },
      }),
      delete: operation("delete", "/api/users/{login}", {
        summary: "Deletes a user and closes their sessions",
        tags: ["users"],
        parameters: [login],
        responses: { "200": changed, "404": off, "409": conflict },
      }),
    },
    "/api/users/{user}/sessions": {
      delete: operation("delete", "/api/users/{user}/sessions", {
        summary: "Closes every session of a user id or session name (end reason revoked)",
        tags: ["revocations"],
        parameters: [pathParam("user", "The user id or session name")],
        responses: { "200": jsonResponse("Closed", ref("Closed")) },
      }),
    },
  };
}

function statsPaths(): OpenApiObject {
  const by = pathParam("by", "Rows per channel or per user", { enum: ["channels", "users"] });
  const usage = (summary: string, row: string): OperationSpec => ({
    summary,
    tags: ["statistics"],
    parameters: [by, ...rangeParams],
    responses: {
      "200": jsonResponse("Rows", closed({ from: dateTime, to: dateTime, by: { enum: ["channel", "user"] }, rows: arrayOf(ref(row)) })),
      "400": errorResponse("A bad range", "VA_API_BAD_REQUEST"),
      "404": errorResponse(STATS_OFF, "VA_API_FEATURE_OFF"),
    },
  });
  return {
    "/api/stats/users/{user}/sessions": {
      get: operation("get", "/api/stats/users/{user}/sessions", {
        summary: "One user's newest closed sessions (address, player, channel, times, bytes), newest first",
        tags: ["statistics"],
        parameters: [
          pathParam("user", "The user id, or the session name of a session without one"),
          queryParam("limit", "1 to 500, default 50", { type: "integer", minimum: 1, maximum: 500 }),
        ],
        responses: {
          "200": jsonResponse(
            "The sessions",
            closed({
              user: str(),
              sessions: arrayOf(
                closed({
                  id: str(),
                  channel: str("`app/name`"),
                  ip: str(),
                  protocol: str(),
                  userAgent: nullable(str()),
                  startedAt: msSinceEpoch("When the check started"),
                  playingSince: nullable(msSinceEpoch("When admitted")),
                  endedAt: msSinceEpoch("When it ended"),
                  endReason: str(),
                  bytesOut: int(),
                }),
              ),
            }),
          ),
          "404": errorResponse(STATS_OFF, "VA_API_FEATURE_OFF"),
        },
      }),
    },
    "/api/stats/{by}": { get: operation("get", "/api/stats/{by}", usage("Sessions that played, watch time and bytes", "UsageRow")) },
    "/api/stats/daily/{by}": {
      get: operation("get", "/api/stats/daily/{by}", usage("The same per UTC day", "DailyUsageRow")),
    },
    "/api/stats/refusals": {
      get: operation("get", "/api/stats/refusals", {
        summary: "Refusals and other sessions that never played, counted per minute",
        tags: ["statistics"],
        parameters: rangeParams,
        responses: {
          "200": jsonResponse("Counters", closed({ from: dateTime, to: dateTime, total: int(), rows: arrayOf(ref("RefusalRow")) })),
          "400": errorResponse("A bad range", "VA_API_BAD_REQUEST"),
          "404": errorResponse(STATS_OFF, "VA_API_FEATURE_OFF"),
        },
      }),
    },
    "/api/stats/sessions.csv": {
      get: operation("get", "/api/stats/sessions.csv", {
        summary: "Closed sessions as CSV",
        tags: ["statistics"],
        parameters: rangeParams,
        responses: {
          "200": { description: "CSV with a header row", content: { "text/csv": { schema: str() } } },
          "400": errorResponse("A bad range", "VA_API_BAD_REQUEST"),
          "404": errorResponse(STATS_OFF, "VA_API_FEATURE_OFF"),
        },
      }),
    },
    "/metrics": {
      get: operation("get", "/metrics", {
        summary: "Prometheus metrics",
        tags: ["statistics"],
        security: [{ bearer: [] }, { metricsBearer: [] }, { consoleCookie: [] }],
        responses: { "200": { description: "Prometheus text format", content: { "text/plain": { schema: str() } } } },
      }),
    },
    "/api/cluster": {
      get: operation("get", "/api/cluster", {
        summary: "This edge's link to Redis and the sessions per edge",
        tags: ["cluster"],
        responses: {
          "200": jsonResponse("The cluster", ref("ClusterStatus")),
          "404": errorResponse("No cluster section", "VA_API_FEATURE_OFF"),
        },
      }),
    },
    "/api/cluster/stats": {
      get: operation("get", "/api/cluster/stats", {
        summary: "Statistics totals every live edge publishes, per edge and merged",
        tags: ["cluster"],
        parameters: [queryParam("node", "One edge only")],
        responses: {
          "200": jsonResponse("Totals", {
            oneOf: [
              closed({ nodes: mapOf(ref("NodeStats")), merged: closed({ channels: arrayOf(ref("UsageRow")) }) }),
              closed({ node: str(), channels: arrayOf(ref("UsageRow")), at: dateTime }),
            ],
          }),
          "404": errorResponse("No cluster section, or no such live edge", "VA_API_FEATURE_OFF", "VA_API_NOT_FOUND"),
          "503": errorResponse("Redis is unreachable", "VA_API_UNAVAILABLE"),
        },
      }),
    },
  };
}

function explainPaths(): OpenApiObject {
  return {
    "/api/explain": {
      post: operation("post", "/api/explain", {
        summary: "What the server would do with a URL opened from an address, changing nothing",
        tags: ["explain"],
        requestBody: { required: true, content: jsonContent(ref("ExplainRequest")) },
        responses: {
          "200": jsonResponse("The dry run's answer", ref("ExplainAnswer")),
          "400": errorResponse(
            "A bad body, a URL no host serves as a play, or an address that is none",
            "VA_API_BAD_REQUEST",
            "VA_API_BAD_JSON",
            "VA_API_EXPLAIN_BAD_URL",
            "VA_API_EXPLAIN_BAD_IP",
          ),
        },
      }),
    },
  };
}

function webhookPaths(): OpenApiObject {
  const off = "No webhook is configured (`events.webhooks`)";
  return {
    "/api/webhooks": {
      get: operation("get", "/api/webhooks", {
        summary: "Each webhook's backlog and last outcome (no secret)",
        tags: ["webhooks"],
        responses: {
          "200": jsonResponse("The webhooks", closed({ webhooks: arrayOf(ref("WebhookStatus")) })),
          "404": errorResponse(off, "VA_API_FEATURE_OFF"),
        },
      }),
    },
    "/api/webhooks/test": {
      post: operation("post", "/api/webhooks/test", {
        summary: "Queues a `test` event to every webhook, or to the one named, through the outbox",
        tags: ["webhooks"],
        requestBody: {
          required: false,
          description: "Empty or `{}`: every webhook",
          content: jsonContent(closed({}, { webhook: str("A webhook's name") })),
        },
        responses: {
          "202": jsonResponse("Queued", ref("WebhookTestQueued")),
          "400": errorResponse("A bad body", "VA_API_BAD_REQUEST", "VA_API_BAD_JSON"),
          "404": errorResponse(`${off}, or no webhook has that name`, "VA_API_FEATURE_OFF", "VA_API_WEBHOOK_NOT_FOUND"),
        },
      }),
    },
  };
}

function auditPaths(): OpenApiObject {
  return {
    "/api/audit": {
      get: operation("get", "/api/audit", {
        summary: "Operator actions (sign-ins, closes, revocations, user edits, webhook tests), newest first",
        tags: ["audit"],
        parameters: [
          queryParam("since", "From (inclusive): ms since the epoch or ISO 8601; default 0"),
          queryParam("until", "Until (exclusive): ms since the epoch or ISO 8601; default now"),
          queryParam("actor", "Only this credential's name (`unknown`: failed sign-ins)"),
          queryParam("action", "Only this action", { enum: [...AUDIT_ACTIONS] }),
          queryParam("limit", "At most this many entries, 1 to 1000; default 100", { type: "integer", minimum: 1, maximum: 1000 }),
        ],
        responses: {
          "200": jsonResponse(
            "The entries",
            closed({
              storage: { enum: ["database", "memory"], description: "`database` with stats.file (kept across restarts), else `memory`" },
              entries: arrayOf(ref("AuditEntry")),
            }),
          ),
          "400": errorResponse("A bad filter", "VA_API_BAD_REQUEST"),
        },
      }),
    },
  };
}

function buildDocument(): OpenApiObject {
  return {
    openapi: "3.1.0",
    info: {
      title: "nms-viewer-auth management API",
      version: packageVersion(),
      description:
        "The operator's JSON API: sessions, revocations, built-in users, statistics, metrics, dry-run explains, webhooks, probes and the console. " +
        "Every error answer is `{error, code}` with `code` from a closed list. JSON bodies: 64 KiB at most, " +
        `${MAX_JSON_DEPTH} levels of nesting. A path known under other methods answers 405 with Allow.`,
      license: { name: "Apache-2.0", identifier: "Apache-2.0" },
    },
    jsonSchemaDialect: "https://spec.openapis.org/oas/3.1/dialect/base",
    security: [{ bearer: [] }, { consoleCookie: [] }],
    tags: ["probes", "sessions", "revocations", "users", "statistics", "cluster", "explain", "webhooks", "audit", "console"].map(
      (name) => ({
        name,
      }),
    ),
    paths: {
      ...probePaths(),
      ...sessionPaths(),
      ...userPaths(),
      ...statsPaths(),
      ...explainPaths(),
      ...webhookPaths(),
      ...auditPaths(),
      ...consolePaths(),
    },
    components: components(),
  };
}

/** The document, built once (the package version is read from package.json at first use). */
let built: OpenApiObject | undefined;
export function openApiDocument(): OpenApiObject {
  built ??= buildDocument();
  return built;
}

/** The document as written to schema/openapi.json and served (stable key order, two-space indent). */
export function openApiDocumentText(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
}

/** Where the generated document is committed, relative to the package root. */
export const OPENAPI_DOCUMENT_PATH = "schema/openapi.json";
