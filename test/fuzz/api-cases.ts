import type { CaseBody, CaseContext } from "./fuzz-case.js";
import type { FuzzRandom } from "./fuzz-random.js";
import { httpCaseBody, type HttpAttack } from "./http-attack.js";
import { rawRequest } from "./raw-request.js";
import { hostileQuery, hostileText } from "./hostile-values.js";

/**
 * Hostile requests to the management API port: junk, bad and oversized credentials, huge bodies, deep
 * JSON, broken %-escapes — all without credentials — plus a few with the operator's token and junk
 * input (which must get a 4xx, never a 500, and must never edit a user or close a session).
 */

const HOST: readonly [string, string] = ["Host", "127.0.0.1"];

function request(
  method: string,
  path: string,
  headers: readonly (readonly [string, string])[] = [],
  bodyText?: string | Buffer,
): HttpAttack {
  const withLength = bodyText === undefined ? headers : [...headers, ["Content-Length", String(Buffer.byteLength(bodyText))] as const];
  return {
    steps: [rawRequest(method, path, [HOST, ...withLength], bodyText === undefined ? {} : { body: bodyText })],
    methods: [method],
    complete: true,
  };
}

function body(name: string, build: (ctx: CaseContext) => HttpAttack | HttpAttack[], authorized = false): CaseBody {
  return httpCaseBody(name, (ctx) => ctx.ports.api, build, authorized);
}

const bearer = (ctx: CaseContext): readonly [string, string] => ["Authorization", `Bearer ${ctx.apiToken}`];
const deepJson = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
/** `{"a":{"a":…}}` nested `depth` deep. */
const deepObject = (depth: number) => '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
/** Deep but under the API's 64 KiB body limit, so it reaches the JSON parser and the handlers. */
const DEEP_UNDER_LIMIT = 30_000;

/**
 * Deterministic API cases. The operator's cases come first: requests without credentials get the
 * loopback address throttled, and the operator's input must reach the handlers to be tested.
 */
export const API_CATALOGUE: readonly CaseBody[] = [
  body(
    "operator token with deep JSON and junk bodies (4xx, never 500)",
    (ctx) => [
      request("POST", "/api/users", [bearer(ctx), ["Content-Type", "application/json"]], deepJson(DEEP_UNDER_LIMIT)),
      request(
        "POST",
        "/api/users",
        [bearer(ctx), ["Content-Type", "application/json"]],
        `{"login":"fz-deep","packages":["*"],"comment":${deepObject(9000)}}`,
      ),
      request(
        "PATCH",
        "/api/users/fuzz-viewer",
        [bearer(ctx), ["Content-Type", "application/json"]],
        `{"comment":${deepObject(9000)},"tokens":${deepJson(2000)}}`,
      ),
      request("POST", "/api/users", [bearer(ctx), ["Content-Type", "application/json"]], deepJson(100_000)),
      request("POST", "/api/users", [bearer(ctx), ["Content-Type", "application/json"]], '{"login":'),
      request("POST", "/api/users", [bearer(ctx)], "null"),
      request("POST", "/api/users", [bearer(ctx)], "[1,2,3]"),
      request("POST", "/api/users", [bearer(ctx)], '{"login":{"__proto__":{"x":1}},"tokens":"notalist"}'),
      request("POST", "/api/sessions/revoke", [bearer(ctx)], deepJson(DEEP_UNDER_LIMIT)),
      request("POST", "/api/sessions/revoke", [bearer(ctx)], `{"user":${deepObject(9000)}}`),
      request("POST", "/api/sessions/revoke", [bearer(ctx)], '{"user":42}'),
      request("POST", "/api/sessions/revoke", [bearer(ctx)], '{"token":["a"],"user":{}}'),
      request("PATCH", "/api/users/%ZZ", [bearer(ctx)], "{}"),
    ],
    true,
  ),
  body(
    "operator token with junk paths and queries (4xx, never 500)",
    (ctx) => [
      request("GET", "/api/sessions/%ZZ", [bearer(ctx)]),
      request("DELETE", "/api/sessions/%E0%A4%A", [bearer(ctx)]),
      request("GET", "/api/users/%00", [bearer(ctx)]),
      request("GET", "/api/stats/channels?from=junk&to=%ZZ", [bearer(ctx)]),
      request("GET", "/api/stats/users?from=-1e309&to=99999999999999999999", [bearer(ctx)]),
      request("GET", "/api/stats/sessions.csv?from=0&to=9999999999999999&by=__proto__", [bearer(ctx)]),
      request("GET", "/api/sessions?limit=-1&offset=1e309&channel=%00&user=%ZZ", [bearer(ctx)]),
      request("DELETE", "/api/users/nobody-%2F..%2F..", [bearer(ctx)]),
    ],
    true,
  ),
  body("no credentials on every route", () =>
    ["/api/health", "/api/channels", "/api/sessions", "/api/users", "/api/stats/sessions.csv", "/metrics", "/", "/nope"].map((p) =>
      request("GET", p),
    ),
  ),
  body("bad credentials", () => [
    request("GET", "/api/health", [["Authorization", "Bearer"]]),
    request("GET", "/api/health", [["Authorization", "Bearer \u0000"]]),
    request("GET", "/api/health", [["Authorization", "Basic YWRtaW46YWRtaW4="]]),
    request("GET", "/api/health", [["Authorization", `Bearer ${"x".repeat(15_000)}`]]),
    request("GET", "/api/health", [["Authorization", `Bearer ${"x".repeat(40_000)}`]]),
    request("GET", "/api/health", [
      ["Authorization", "Bearer a"],
      ["Authorization", "Bearer b"],
    ]),
    request("GET", "/api/health", [["authorization", "bEaReR  \t token "]]),
  ]),
  body("huge bodies without credentials (bounded: 1 MiB sent)", () => [
    {
      steps: [rawRequest("POST", "/api/users", [HOST, ["Content-Length", String(10 * 1024 * 1024)]]), Buffer.alloc(1024 * 1024, 0x7b)],
      methods: ["POST"],
      complete: false,
    },
    {
      steps: [
        rawRequest("POST", "/api/sessions/revoke", [HOST, ["Transfer-Encoding", "chunked"]]),
        `100000\r\n`,
        Buffer.alloc(0x100000, 0x5b),
        "\r\n0\r\n\r\n",
      ],
      methods: ["POST"],
      complete: true,
    },
  ]),
  body("deep JSON without credentials", () => [
    request("POST", "/api/users", [["Content-Type", "application/json"]], deepJson(DEEP_UNDER_LIMIT)),
    request("POST", "/api/sessions/revoke", [], deepObject(9000)),
  ]),
  body("bad %-escapes, traversal and odd methods without credentials", () => [
    request("GET", "/api/sessions/%ZZ"),
    request("DELETE", "/api/users/%E0%A4%A"),
    request("GET", "/api/../../etc/passwd"),
    request("GET", "/api/users/%00"),
    request("TRACE", "/api/health"),
    request("OPTIONS", "/api/health"),
    request("FOO", "/api/health"),
    request("GET", `/api/${"a".repeat(20_000)}`),
  ]),
  body("junk request lines on the API port", () => [
    { steps: ["NOT-HTTP garbage\r\n\r\n"], methods: ["GET"], complete: true },
    { steps: ["GET /api/health HTTP/9.9\r\n\r\n"], methods: ["GET"], complete: true },
    { steps: [Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00])], methods: ["GET"], complete: true },
    {
      steps: ["GET /api/health HTTP/1.1\r\nHost: a\r\n", { pauseMs: 400 }, "X-Slow: 1\r\n"],
      methods: ["GET"],
      complete: false,
      readMs: 300,
    },
  ]),
];

const API_PATHS = [
  "/api/health",
  "/api/channels",
  "/api/sessions",
  "/api/sessions/x",
  "/api/users",
  "/api/users/fuzzer",
  "/api/users/x/sessions",
  "/api/sessions/revoke",
  "/api/viewers",
  "/api/stats/channels",
  "/api/stats/sessions.csv",
  "/metrics",
] as const;
const API_METHODS = ["GET", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "FOO"] as const;

/** A random request without valid credentials: any route, method, query, headers and body. */
export function randomApiCase(random: FuzzRandom): CaseBody {
  const method = random.pick(API_METHODS);
  const path = random.chance(0.8) ? random.pick(API_PATHS) : `/api/${hostileText(random)}`;
  const query = random.chance(0.4) ? `?${hostileQuery(random)}` : "";
  const headers: [string, string][] = [];
  if (random.chance(0.5)) headers.push(["Authorization", random.pick(["Bearer ", "Basic ", "", "bearer  "]) + hostileText(random)]);
  if (random.chance(0.3)) headers.push([hostileText(random), hostileText(random)]);
  const bodyKind = random.pick(["none", "none", "json", "deep", "junk"] as const);
  const bodyText =
    bodyKind === "json"
      ? JSON.stringify({ login: hostileText(random), tokens: [hostileText(random)], user: hostileText(random) })
      : bodyKind === "deep"
        ? deepJson(random.int(100, 50_000))
        : bodyKind === "junk"
          ? random.bytes(random.int(1, 4096)).toString("latin1")
          : undefined;
  const name = `random API ${method} ${JSON.stringify(`${path}${query}`.slice(0, 50))} body=${bodyKind}`;
  return body(name, () => ({ ...request(method, `${path}${query}`, headers, bodyText), accept: method === "OPTIONS" ? [204] : [] }));
}
