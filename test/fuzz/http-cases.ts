import type { CaseBody, CaseContext } from "./fuzz-case.js";
import type { FuzzRandom } from "./fuzz-random.js";
import { httpCaseBody, sendHttpAttack, type HttpAttack } from "./http-attack.js";
import { hostileQuery, hostileText, utf8AsLatin1 } from "./hostile-values.js";
import { markedFlv } from "./marked-flv.js";
import type { RawStep } from "./raw-exchange.js";
import { rawRequest } from "./raw-request.js";
import { SIGNED_LINK_CATALOGUE } from "./signed-link-cases.js";

/**
 * Malformed HTTP for the viewer port (HTTP-FLV, HLS, everything else NMS's express app serves): bad
 * request lines and methods, huge and duplicated headers, bad Host, broken %-escapes, traversal, NUL,
 * long URLs, hostile app/channel names and queries on `.flv`, `.m3u8` and `.ts` paths, Range and HEAD,
 * pipelined garbage and slow partial requests. A fixed catalogue (known crash vectors first) and a
 * random generator.
 */

const HOST: readonly [string, string] = ["Host", "127.0.0.1"];
const CLOSE: readonly [string, string] = ["Connection", "close"];

function get(target: string, headers: readonly (readonly [string, string])[] = [HOST]): HttpAttack {
  return { steps: [rawRequest("GET", target, headers)], methods: ["GET"], complete: true };
}

/** One request of several lines: raw bytes, counted as one whole request. */
function raw(text: string | Buffer, methods: readonly string[] = ["GET"], complete = true): HttpAttack {
  return { steps: [typeof text === "string" ? Buffer.from(text, "latin1") : text], methods, complete };
}

function body(name: string, build: (ctx: CaseContext) => HttpAttack | HttpAttack[], authorized = false): CaseBody {
  return httpCaseBody(name, (ctx) => ctx.ports.http, build, authorized);
}

const flvPath = (ctx: CaseContext, query = "") => `/${ctx.app}/${ctx.channel}.flv${query}`;
const hlsPath = (ctx: CaseContext, query = "") => `/${ctx.app}/${ctx.channel}/index.m3u8${query}`;

/** Deterministic cases, the crash vectors known from the adversarial review first. */
export const HTTP_CATALOGUE: readonly CaseBody[] = [
  body("GET /live/a%20b.flv (NMS closes an unnamed session it never registered)", (ctx) => get(`/${ctx.app}/a%20b.flv`)),
  body("GET /live/a b.flv (raw space in the target)", (ctx) => get(`/${ctx.app}/a b.flv`)),
  body("GET channel .flv without credentials", (ctx) => get(flvPath(ctx))),
  body("GET channel playlist without credentials", (ctx) => get(hlsPath(ctx))),
  body("GET .flv with broken %-escapes in name and query", (ctx) => [
    get(`/${ctx.app}/%ZZ.flv`),
    get(flvPath(ctx, "?token=%ZZ")),
    get(flvPath(ctx, "?%%%%=%%")),
  ]),
  body("GET .flv with NUL in name and query", (ctx) => [
    get(`/${ctx.app}/te%00st.flv`),
    get(`/${ctx.app}/te\u0000st.flv`),
    get(flvPath(ctx, "?token=%00")),
  ]),
  body("GET traversal forms", (ctx) => [
    get("/../../../../etc/passwd"),
    get("/%2e%2e/%2e%2e/etc/passwd"),
    get(`/${ctx.app}/../../etc/passwd.flv`),
    get(`/${ctx.app}/${ctx.channel}/../../../stats.sqlite`),
    get(`/${ctx.app}/${ctx.channel}/..%2f..%2fstats.sqlite.ts`),
    get(`/${ctx.app}/${ctx.channel}/%2e%2e/%2e%2e/nms-store/x.m3u8`),
    get(`/${ctx.app}/${ctx.channel}/....//....//index.m3u8`),
    get(`/${ctx.app}\\..\\..\\x.flv`),
  ]),
  body("GET hostile app and channel names on .flv", (ctx) =>
    [
      "/live/.flv",
      "/.flv",
      "//.flv",
      "/a/b/c.flv",
      "/live/..flv",
      "/live/test.flv.flv",
      `/${ctx.app}/${ctx.channel}.FLV`,
      `/${ctx.app.toUpperCase()}/${ctx.channel}.flv`,
      `/${ctx.app}/${ctx.channel}%2Fx.flv`,
      `/${ctx.app}/${ctx.channel};x.flv`,
      `/${ctx.app}/${utf8AsLatin1("tést")}.flv`,
      `/${ctx.app}/__proto__.flv`,
      `/__proto__/constructor.flv`,
      `/${ctx.app}/${"n".repeat(5000)}.flv`,
    ].map((path) => get(path)),
  ),
  body("GET hostile names on .m3u8 and .ts", (ctx) =>
    [
      `/${ctx.app}/${ctx.channel}.m3u8`,
      `/${ctx.app}/${ctx.channel}.ts`,
      `/${ctx.app}/${ctx.channel}/seg_1.ts`,
      `/${ctx.app}/${ctx.channel}/index.m3u8?va_session=../..`,
      `/${ctx.app}/${ctx.channel}/seg_1.ts?va_session=${"k".repeat(2000)}`,
      `/${ctx.app}/a%20b/index.m3u8`,
      `/${ctx.app}/%00/index.m3u8`,
      "/x.m3u8",
      "/.m3u8",
      "/a/b/c/d/e.ts",
      `/${ctx.app}/${ctx.channel}/index.m3u8%00.ts`,
    ].map((path) => get(path)),
  ),
  body("GET long URL (70 KB) and long query", (ctx) => [
    get(`/${ctx.app}/${"a".repeat(70_000)}.flv`),
    get(flvPath(ctx, `?token=${"t".repeat(60_000)}`)),
  ]),
  // Empty lines before a request are allowed (RFC 9112 §2.2) and "GET /" alone is not a whole request: the server may wait.
  body("bad request lines", () => [
    raw("GET\r\n\r\n"),
    raw("GET / HTTP/9.9\r\nHost: a\r\n\r\n"),
    raw("GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n"),
    raw("\r\n\r\n\r\n\r\n", ["GET"], false),
    raw("G\u0000T / HTTP/1.1\r\nHost: a\r\n\r\n"),
    raw("GET /\r\n", ["GET"], false),
    raw("NOT-HTTP garbage\r\n\r\n"),
    raw("GET / HTTP/1.1\nHost: a\n\n"),
    raw("GET http://evil.example/live/test.flv HTTP/1.1\r\nHost: a\r\n\r\n"),
    raw("GET * HTTP/1.1\r\nHost: a\r\n\r\n"),
  ]),
  body("bad and unusual methods on the channel", (ctx) => [
    ...["FOO", "PUT", "DELETE", "PATCH", "TRACE", "get", "PROPFIND", "M-SEARCH"].map((m) => ({
      steps: [rawRequest(m, flvPath(ctx), [HOST, CLOSE])],
      methods: [m],
      complete: true,
    })),
    { steps: [rawRequest("HEAD", flvPath(ctx), [HOST, CLOSE])], methods: ["HEAD"], complete: true },
    {
      steps: [
        rawRequest("OPTIONS", flvPath(ctx), [HOST, CLOSE, ["Origin", "http://evil.example"], ["Access-Control-Request-Method", "GET"]]),
      ],
      methods: ["OPTIONS"],
      complete: true,
      accept: [204],
    },
    { steps: [rawRequest("CONNECT", "127.0.0.1:22", [HOST])], methods: ["CONNECT"], complete: true },
  ]),
  body("POST .flv: an unsigned publisher pushing marked FLV", (ctx) => [
    {
      steps: [
        rawRequest("POST", flvPath(ctx), [HOST, ["Transfer-Encoding", "chunked"]]),
        chunk(markedFlv(ctx.injectMarker)),
        { pauseMs: 200 },
        chunk(markedFlv(ctx.injectMarker)),
        "0\r\n\r\n",
      ],
      methods: ["POST"],
      complete: true,
    },
    {
      steps: [rawRequest("POST", `/${ctx.app}/fuzz_pub.flv`, [HOST, ["Content-Length", "100000"]]), markedFlv(ctx.injectMarker)],
      methods: ["POST"],
      complete: false,
    },
  ]),
  body("huge, many and duplicated headers", (ctx) => [
    get(hlsPath(ctx), [HOST, ["X-Big", "x".repeat(20 * 1024)]]),
    get(flvPath(ctx), [HOST, ...Array.from({ length: 2000 }, (_, i) => [`X-H${i}`, "v"] as const)]),
    get(flvPath(ctx), [HOST, HOST, ["Host", "evil.example"]]),
    {
      steps: [rawRequest("GET", flvPath(ctx), [HOST, ["Content-Length", "1"], ["Content-Length", "2"]])],
      methods: ["GET"],
      complete: true,
    },
    {
      steps: [rawRequest("GET", flvPath(ctx), [HOST, ["Content-Length", "3"], ["Transfer-Encoding", "chunked"]], { body: "0\r\n\r\n" })],
      methods: ["GET"],
      complete: true,
    },
    get(flvPath(ctx), [HOST, ["User-Agent", "u".repeat(15_000)]]),
    get(flvPath(ctx), [HOST, ["X-Forwarded-For", "1.2.3.4, ::1, garbage, 999.1.1.1, , ,"], ["X-Real-IP", "%00"]]),
  ]),
  body("bad Host headers", (ctx) => [
    ...["\u0000", "[::1", "a:b:c", "a".repeat(5000), "", "evil.example:99999", utf8AsLatin1("hôst"), "127.0.0.1\r\n X: folded"].map((h) =>
      get(flvPath(ctx), [["Host", h]]),
    ),
    raw(`GET ${flvPath(ctx)} HTTP/1.1\r\n\r\n`),
    raw(`GET ${hlsPath(ctx)} HTTP/1.0\r\n\r\n`),
  ]),
  body("Range and HEAD without credentials", (ctx) => [
    get(flvPath(ctx), [HOST, ["Range", "bytes=0-"]]),
    get(hlsPath(ctx), [HOST, ["Range", "bytes=-1,99999999999999999999-"]]),
    get(`/${ctx.app}/${ctx.channel}/seg_1.ts`, [HOST, ["Range", "bytes=abc"]]),
    { steps: [rawRequest("HEAD", hlsPath(ctx), [HOST])], methods: ["HEAD"], complete: true },
  ]),
  body("pipelined garbage behind a valid request", (ctx) => ({
    steps: [
      Buffer.concat([
        rawRequest("GET", hlsPath(ctx), [HOST]),
        Buffer.from("GARBAGE\r\n\r\n\u0000\u0001\u0002", "latin1"),
        rawRequest("GET", flvPath(ctx), [HOST]),
      ]),
    ],
    methods: ["GET", "GET", "GET"],
    complete: true,
  })),
  body("slow partial requests (slowloris, bounded)", (ctx) => [
    {
      steps: ["GET ", { pauseMs: 300 }, `${flvPath(ctx)} HTTP/1.1\r\n`, { pauseMs: 300 }, "Host: a\r\n", { pauseMs: 300 }, "X-Slow: 1\r\n"],
      methods: ["GET"],
      complete: false,
      readMs: 300,
    },
    {
      steps: [`GET ${hlsPath(ctx)} HTTP/1.1\r\nHost: a\r\nContent-Length: 50\r\n\r\n`, { pauseMs: 400 }, "partial"],
      methods: ["GET"],
      complete: false,
      readMs: 300,
    },
  ]),
  body("Expect: 100-continue and bodies on GET", (ctx) => [
    {
      steps: [rawRequest("GET", flvPath(ctx), [HOST, ["Expect", "100-continue"], ["Content-Length", "5"]]), { pauseMs: 100 }, "hello"],
      methods: ["GET"],
      complete: true,
    },
    { steps: [rawRequest("GET", hlsPath(ctx), [HOST, ["Content-Length", "-1"]])], methods: ["GET"], complete: true },
    {
      steps: [
        rawRequest("GET", hlsPath(ctx), [
          HOST,
          ["Upgrade", "h2c"],
          ["Connection", "Upgrade, HTTP2-Settings"],
          ["HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA"],
        ]),
      ],
      methods: ["GET"],
      complete: true,
    },
  ]),
  body("hostile queries on every path kind", (ctx) =>
    [
      "?token=&token=&token=",
      "?token[]=a&token[]=b",
      "?__proto__[token]=x",
      "?constructor[prototype][token]=x",
      "?auth=:",
      "?auth=fuzzer:",
      `?auth=x:${"p".repeat(4000)}`,
      "?sign=1-abc",
      "?sign=99999999999-zz",
      `?${"a=1&".repeat(3000)}`,
      "?token=%E0%A4%A",
      "?va_internal=x",
      "?token=a%0d%0aX-Evil:%201",
    ].flatMap((query) => [get(flvPath(ctx, query)), get(hlsPath(ctx, query))]),
  ),
  body(
    "authorized viewer with hostile extras (may play; never a 5xx)",
    (ctx) => [
      {
        ...get(flvPath(ctx, `?token=${ctx.viewerToken}`), [HOST, ["Range", "bytes=5-1"], ["User-Agent", "\u0001\u0002evil"]]),
        readMs: 500,
      },
      {
        steps: [rawRequest("HEAD", flvPath(ctx, `?token=${ctx.viewerToken}`), [HOST, CLOSE])],
        methods: ["HEAD"],
        complete: true,
        readMs: 500,
      },
      get(hlsPath(ctx, `?token=${ctx.viewerToken}&token=%ZZ&x=${"y".repeat(3000)}`)),
      get(`/${ctx.app}/${ctx.channel}/missing.m3u8?token=${ctx.viewerToken}`),
    ],
    true,
  ),
  ...SIGNED_LINK_CATALOGUE,
];

/** Wraps bytes as one chunk of a chunked body. */
function chunk(bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`, "latin1"), bytes, Buffer.from("\r\n", "latin1")]);
}

const METHODS = ["GET", "GET", "GET", "GET", "HEAD", "POST", "OPTIONS", "PUT", "DELETE", "FOO", "G\u0000T", ""] as const;
const EXTENSIONS = [".flv", ".flv", "/index.m3u8", "/index.m3u8", "/seg_1.ts", ".ts", ".m3u8", "", "/"] as const;
const HEADER_NAMES = [
  "Host",
  "User-Agent",
  "Range",
  "X-Forwarded-For",
  "X-Real-IP",
  "Referer",
  "Origin",
  "Cookie",
  "Authorization",
  "Content-Length",
  "Transfer-Encoding",
  "Connection",
  "Upgrade",
  "Accept",
  "If-None-Match",
  "X-Fuzz",
] as const;

/** A random hostile request (sometimes pipelined, split, truncated or byte-flipped). */
export function randomHttpCase(random: FuzzRandom): CaseBody {
  const method = random.pick(METHODS);
  const appName = random.chance(0.6) ? "live" : hostileText(random);
  const channelName = random.chance(0.5) ? "test" : hostileText(random);
  const extension = random.pick(EXTENSIONS);
  const query = random.chance(0.7) ? `?${hostileQuery(random)}` : "";
  const headerCount = random.int(0, 6);
  const headers: [string, string][] = random.chance(0.9) ? [["Host", random.chance(0.8) ? "127.0.0.1" : hostileText(random)]] : [];
  for (let i = 0; i < headerCount; i++)
    headers.push([random.chance(0.8) ? random.pick(HEADER_NAMES) : hostileText(random), hostileText(random)]);
  const version = random.chance(0.9) ? "HTTP/1.1" : random.pick(["HTTP/1.0", "HTTP/2.0", "HTTP/1.", "http/1.1", ""]);
  const eol = random.chance(0.9) ? "\r\n" : "\n";
  const pipelined = random.chance(0.15) ? random.int(2, 4) : 1;
  const flip = random.chance(0.15);
  const split = random.chance(0.15);
  const truncate = random.chance(0.1);
  const flips = Array.from({ length: random.int(1, 4) }, () => [random.next(), random.int(0, 255)] as const);
  const splitAt = random.next();
  const truncateAt = random.next();
  const name = `random ${JSON.stringify(method)} ${JSON.stringify(`/${appName}/${channelName}${extension}${query}`.slice(0, 60))}${pipelined > 1 ? ` ×${pipelined}` : ""}${flip ? " flipped" : ""}${split ? " split" : ""}${truncate ? " truncated" : ""}`;
  return {
    name,
    authorized: false,
    async run(ctx, outcome) {
      const target = `/${appName === "live" ? ctx.app : appName}/${channelName === "test" ? ctx.channel : channelName}${extension}${query}`;
      let bytes = Buffer.concat(Array.from({ length: pipelined }, () => rawRequest(method, target, headers, { version, eol })));
      if (flip) {
        bytes = Buffer.from(bytes);
        for (const [at, value] of flips) bytes[Math.floor(at * bytes.length)] = value;
      }
      if (truncate) bytes = bytes.subarray(0, Math.floor(truncateAt * bytes.length));
      const cut = Math.floor(splitAt * bytes.length);
      const steps: RawStep[] = split ? [bytes.subarray(0, cut), { pauseMs: 150 }, bytes.subarray(cut)] : [bytes];
      const methods = Array.from({ length: pipelined }, () => method.toUpperCase());
      const complete = !truncate && !flip;
      // A cut or spoiled request may rightly get no answer: waiting long for one only slows the run.
      await sendHttpAttack(
        ctx.ports.http,
        { steps, methods, complete, readMs: complete ? 2500 : 800, accept: method === "OPTIONS" ? [204] : [] },
        outcome,
        name,
      );
    },
  };
}
