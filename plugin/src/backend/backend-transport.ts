import { readFileSync } from "node:fs";
import { Pool, request, type Dispatcher } from "undici";

/**
 * What may replace the built-in connection pool for backend calls: an undici `Agent`, `Pool`,
 * `ProxyAgent`… of the application's own undici. Spelled structurally so that the package's declarations
 * do not name undici, which is bundled into the package rather than installed; undici's `request` only
 * calls `dispatch` on it.
 */
export interface BackendDispatcher {
  dispatch(options: object, handler: object): boolean;
}
import {
  BackendRequestError,
  BackendResponseError,
  BackendTimeoutError,
  BackendUnreachableError,
  VaError,
  type UnreachableCause,
} from "../core/errors.js";

/** Backend answers are read up to this many bytes, so a backend cannot make us buffer without bound; more is an unusable answer. */
const MAX_BACKEND_BODY_BYTES = 64 * 1024;

/** What a backend answered: status, headers and (when asked for) the body, capped. */
export interface BackendResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body when the caller asked for it, else empty (it was discarded unread). */
  readonly body: Buffer;
}

/** The settings the transport needs: one backend origin, bounded pool, two timeouts. */
export interface BackendTransportOptions {
  /** Any URL on the backend's origin (scheme, host, port). */
  readonly url: string;
  readonly connections: number;
  readonly connectTimeoutMs: number;
  readonly timeoutMs: number;
  /** PEM file of trusted CAs for an https backend; null = the system CAs. */
  readonly caFile: string | null;
}

/**
 * BackendTransport makes GET calls to one auth backend over a keep-alive undici Pool of bounded size.
 * Every call has a connect timeout and a whole-call timeout (its timer cleared in `finally`). Errors are
 * sorted by their code, and only a known network failure is "unreachable":
 * - no answer (refused, DNS, reset, TLS, timeout) → BackendUnreachableError / BackendTimeoutError,
 *   naming the target without its query;
 * - a request undici or Node refuses to send (bad header value, bad URL) → BackendRequestError;
 * - an answer that cannot be read (malformed HTTP, oversized headers or body) → BackendResponseError;
 * - anything else is rethrown as it is: the caller must not take an unknown error for an outage.
 *
 * @example
 * const transport = new BackendTransport({ url: "http://127.0.0.1:6000/auth", connections: 16, connectTimeoutMs: 1000, timeoutMs: 3000, caFile: null });
 * const answer = await transport.get("http://127.0.0.1:6000/auth?token=123", { "X-Channel-Id": "a001" }, false);
 */
export class BackendTransport {
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #timeoutMs: number;
  readonly #connectTimeoutMs: number;
  #closed = false;

  /** `dispatcher` replaces the built-in pool (an undici Agent, a proxy…); the caller then owns and closes it. */
  constructor(options: BackendTransportOptions, dispatcher?: BackendDispatcher) {
    this.#timeoutMs = options.timeoutMs;
    this.#connectTimeoutMs = options.connectTimeoutMs;
    this.#ownsDispatcher = dispatcher === undefined;
    this.#dispatcher =
      (dispatcher as Dispatcher | undefined) ??
      new Pool(new URL(options.url).origin, {
        connections: options.connections,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
        connect: {
          timeout: options.connectTimeoutMs,
          ...(options.caFile !== null ? { ca: readFileSync(options.caFile, "utf8") } : {}),
        },
      });
  }

  /** GETs `url`; reads the body (≤ 64 KiB) only when `readBody`, else discards it. */
  async get(url: string, headers: Record<string, string>, readBody: boolean): Promise<BackendResponse> {
    const target = safeTarget(url);
    const controller = new AbortController();
    // The abort alone does not bound the call: undici settles a request aborted while it waits for a pool
    // connection only once a connection takes it (the soak suite measured answers 2.8 s past a 2 s timeout
    // with a trickling backend holding every connection). So the call also races its own deadline.
    let expire!: () => void;
    const deadline = new Promise<never>((_, reject) => (expire = () => reject(new BackendTimeoutError(target, "total", this.#timeoutMs))));
    const timer = setTimeout(() => {
      controller.abort();
      expire();
    }, this.#timeoutMs);
    const call = (async () => {
      const response = await request(url, { dispatcher: this.#dispatcher, method: "GET", headers, signal: controller.signal });
      const body = readBody ? await readCapped(response.body, target) : await discard(response.body);
      return { status: response.statusCode, headers: response.headers, body };
    })();
    call.catch(() => undefined); // when the deadline wins, the abort settles the call later; nobody waits for it
    try {
      return await Promise.race([call, deadline]);
    } catch (error) {
      if (error instanceof VaError) throw error;
      if (controller.signal.aborted) throw new BackendTimeoutError(target, "total", this.#timeoutMs, { cause: error });
      throw classify(error, target, this.#connectTimeoutMs, this.#timeoutMs) ?? error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the pool's keep-alive connections (an injected dispatcher is left to its owner). Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed || !this.#ownsDispatcher) return;
    this.#closed = true;
    await this.#dispatcher.close();
  }
}

/** A URL as it may appear in a log or message: scheme, host, port and path; no credentials, no query. */
export function safeTarget(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return "<invalid url>";
  }
}

async function readCapped(body: Dispatcher.ResponseData["body"], target: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BACKEND_BODY_BYTES) {
      body.destroy();
      throw new BackendResponseError(target, `body larger than ${MAX_BACKEND_BODY_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function discard(body: Dispatcher.ResponseData["body"]): Promise<Buffer> {
  // A small body is drained so the connection can be reused; a large one closes it.
  await body.dump({ limit: MAX_BACKEND_BODY_BYTES });
  return Buffer.alloc(0);
}

/** Codes of a network failure toward the backend: the only errors that count as "unreachable". */
const CAUSE_BY_CODE: Readonly<Record<string, UnreachableCause>> = {
  ECONNREFUSED: "refused",
  EHOSTUNREACH: "refused",
  ENETUNREACH: "refused",
  EHOSTDOWN: "refused",
  ENETDOWN: "refused",
  EADDRNOTAVAIL: "refused",
  ENOTFOUND: "dns",
  EAI_AGAIN: "dns",
  EAI_NONAME: "dns",
  EAI_FAIL: "dns",
  ECONNRESET: "reset",
  EPIPE: "reset",
  ECONNABORTED: "reset",
  UND_ERR_SOCKET: "reset",
  ETIMEDOUT: "timeout",
  EPROTO: "tls",
};

/** Codes of a request refused before it was sent: by undici's checks (header values, URL, options) or Node's. */
const REQUEST_CODES: ReadonlySet<string> = new Set([
  "UND_ERR_INVALID_ARG",
  "UND_ERR_NOT_SUPPORTED",
  "UND_ERR_REQ_CONTENT_LENGTH_MISMATCH",
  "ERR_INVALID_URL",
  "ERR_INVALID_CHAR",
  "ERR_INVALID_HTTP_TOKEN",
  "ERR_HTTP_INVALID_HEADER_VALUE",
  "ERR_INVALID_ARG_TYPE",
  "ERR_INVALID_ARG_VALUE",
  "ERR_INVALID_PROTOCOL",
  "ERR_UNESCAPED_CHARACTERS",
]);

/** Codes of an answer that came but cannot be read (llhttp's `HPE_*` codes are matched by prefix). */
const RESPONSE_CODES: ReadonlySet<string> = new Set([
  "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
  "UND_ERR_RES_EXCEEDED_MAX_SIZE",
  "UND_ERR_HEADERS_OVERFLOW",
]);

/**
 * Sorts a transport error by the codes on it and its causes; undefined when no code is known. An
 * unknown error is deliberately not "unreachable": with `onUnreachable: allow` that would let the
 * viewer in (undici's refusal of a CR/LF header value was once taken for an outage).
 */
function classify(error: unknown, target: string, connectTimeoutMs: number, timeoutMs: number): VaError | undefined {
  for (const code of codesOf(error)) {
    if (code === "UND_ERR_CONNECT_TIMEOUT") return new BackendTimeoutError(target, "connect", connectTimeoutMs, { cause: error });
    if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT")
      return new BackendTimeoutError(target, "total", timeoutMs, { cause: error });
    const known = CAUSE_BY_CODE[code];
    if (known !== undefined) return new BackendUnreachableError(target, known, code, { cause: error });
    if (/^(ERR_TLS|ERR_SSL|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_)/.test(code))
      return new BackendUnreachableError(target, "tls", code, { cause: error });
    if (REQUEST_CODES.has(code)) return new BackendRequestError(target, `refused by the HTTP client (${code})`, { cause: error });
    if (RESPONSE_CODES.has(code) || code.startsWith("HPE_"))
      return new BackendResponseError(target, `unreadable HTTP answer (${code})`, { cause: error });
  }
  // undici 7 gives an answer that is not HTTP at all (llhttp's INVALID_CONSTANT) no code: it would be
  // taken for an unknown failure (`backend.call_failed`) though it is plainly an unreadable answer.
  if (isHttpParserError(error)) return new BackendResponseError(target, "unreadable HTTP answer (not HTTP)", { cause: error });
  return undefined;
}

/** True for undici's HTTPParserError (by name: undici's class is internal), on the error or its cause. */
function isHttpParserError(error: unknown): boolean {
  return (
    error instanceof Error && (error.name === "HTTPParserError" || (error.cause instanceof Error && error.cause.name === "HTTPParserError"))
  );
}

/** The string codes on an error, its causes and (for an AggregateError, e.g. from happy eyeballs) its errors, nearest first; bounded. */
function codesOf(error: unknown): string[] {
  const codes: string[] = [];
  const queue: unknown[] = [error];
  for (let seen = 0; queue.length > 0 && seen < 16; seen++) {
    const current = queue.shift();
    if (!(current instanceof Error)) continue;
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") codes.push(code);
    if (current instanceof AggregateError) queue.push(...(current.errors as unknown[]).slice(0, 4));
    queue.push(current.cause);
  }
  return codes;
}
