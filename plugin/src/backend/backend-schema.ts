import { accessSync, constants } from "node:fs";
import { z } from "zod";
import { httpUrlSchema, millisecondsSchema, secondsSchema } from "../config/value-schemas.js";

/**
 * The middleware kinds the backend step speaks to (docs/protocols.md §2, §3): the types `backendSchema`
 * accepts. Each must have its protocol in backend/backend-protocols.ts, whose type is mapped over this list.
 */
export const BACKEND_TYPES = ["http-request", "ministra", "smarty", "iptvportal"] as const;
export type BackendType = (typeof BACKEND_TYPES)[number];

/** What the backend step does when its backend cannot be reached (refused, DNS, timeout, reset). */
const UNREACHABLE_ACTIONS = ["allow", "deny"] as const;

/** A path that starts with `/`, appended to a typed backend's base address. */
const checkPathSchema = z.string().regex(/^\/[^?#]*$/, "must start with / and have no query or fragment");

/** A CA file is read when the backend step is built; a missing one must fail at load, not later. */
function isReadable(file: string): boolean {
  try {
    accessSync(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** Keys every backend type shares: transport, failure handling and the verdict cache. */
const commonShape = {
  /** Verdict when the backend cannot be reached; a 5xx answer is not "unreachable", it denies. */
  onUnreachable: z.enum(UNREACHABLE_ACTIONS).default("deny"),
  /** TCP (and TLS) connect timeout, ms. */
  connectTimeoutMs: millisecondsSchema(1).default(1000),
  /** Whole-call timeout (connect, headers and body), ms. */
  timeoutMs: millisecondsSchema(1).default(3000),
  /** Keep-alive connections kept open to the backend, at most. */
  connections: z.number().int("must be a whole number").min(1, "must be at least 1").default(16),
  /** PEM file of the CAs that sign an https backend's certificate (replaces the system CAs); null = system CAs. */
  caFile: z.string().min(1).refine(isReadable, "is not a readable file").nullable().default(null),
  /** How long an allow holds when the backend sends no X-AuthDuration, s (cached, then re-checked). */
  allowTtlSec: secondsSchema(0).default(30),
  /** How long a deny is cached, s (X-AuthDuration shortens it, never lengthens it; 0 = never cached). */
  denyTtlSec: secondsSchema(0).default(5),
  /** Re-check playing sessions at least this often even when X-AuthDuration is longer, s (0 = follow X-AuthDuration). */
  recheckMaxSec: secondsSchema(0).default(0),
  /** A re-checked session keeps its allow this long past its expiry while the backend fails (5xx or unreachable), s. */
  staleIfErrorSec: secondsSchema(0).default(60),
  /** Verdicts kept in the cache, at most (least recently used go first). */
  cacheEntries: z.number().int("must be a whole number").min(1, "must be at least 1").default(10000),
  /** Bytes the cached verdicts may take together (keys are fixed-size digests; least recently used go first). */
  cacheMaxBytes: z.number().int("must be a whole number").min(65536, "must be at least 65536 (64 KiB)").default(33554432),
  /** Backend calls waiting for an answer at once, at most; a check beyond it is denied (`backend.busy`), never let through. */
  maxPendingCalls: z.number().int("must be a whole number").min(1, "must be at least 1").default(4096),
};

/** `auth.backend` with `type: http-request`: Cesbo-style, the viewer's query is forwarded verbatim. */
const httpRequestBackendSchema = z.strictObject({
  type: z.literal("http-request"),
  /** The check URL; the viewer's query is appended (with `&` when the URL has a query). */
  url: httpUrlSchema,
  ...commonShape,
});

/** Keys of the Flussonic-style types: the operator gives the middleware's base address. */
function flussonicSchema<T extends Exclude<BackendType, "http-request">>(type: T, checkPath: string, recheckAsksBackend: boolean) {
  return z.strictObject({
    type: z.literal(type),
    /** Base address of the middleware, e.g. `http://portal.example/stalker_portal`. */
    address: httpUrlSchema,
    /** Path of the check endpoint under `address`. */
    checkPath: checkPathSchema.default(checkPath),
    /** Whether a re-check inside the backend's X-AuthDuration asks the backend again (false: the grant is kept). */
    recheckAsksBackend: z.boolean().default(recheckAsksBackend),
    ...commonShape,
  });
}

/** Ministra/Stalker: its tokens live ~5 s, so re-checks inside X-AuthDuration keep the grant (docs/protocols.md §3.2). */
const ministraBackendSchema = flussonicSchema("ministra", "/server/api/chk_flussonic_tmp_link.php", false);
/** Microimpuls Smarty: allows on 200 with JSON `{"error": 0}` only (docs/protocols.md §3.3). */
const smartyBackendSchema = flussonicSchema("smarty", "/tvmiddleware/api/streamservice/token/check/", true);
/** IPTVPortal arescrypt: the viewer's query and the Flussonic parameters are forwarded (docs/protocols.md §3.4). */
const iptvportalBackendSchema = flussonicSchema("iptvportal", "/auth/arescrypt/", true);

/** `auth.backend`: the middleware asked last in the chain; absent or null = no backend step. */
export const backendSchema = z.discriminatedUnion("type", [
  httpRequestBackendSchema,
  ministraBackendSchema,
  smartyBackendSchema,
  iptvportalBackendSchema,
]);

export type BackendConfig = z.output<typeof backendSchema>;
export type HttpRequestBackendConfig = z.output<typeof httpRequestBackendSchema>;
export type FlussonicBackendConfig = Exclude<BackendConfig, HttpRequestBackendConfig>;
