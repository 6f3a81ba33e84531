import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import { Agent, request, type Dispatcher } from "undici";
import type { BackendDispatcher } from "../backend/backend-transport.js";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/log.js";

/** An unknown `kid` refetches the key set at most this often: a flood of made-up kids costs one fetch per 30 s. */
export const JWKS_REFETCH_INTERVAL_MS = 30_000;
/** A key set older than this is refreshed in the background on the next token (the cached keys still answer). */
export const JWKS_MAX_AGE_MS = 10 * 60_000;
/** A JWKS endpoint that does not answer within this is given up on (the cached keys stay). */
export const JWKS_TIMEOUT_MS = 5_000;
/** A key set larger than this is refused: a JWK Set is a few KiB. */
const JWKS_MAX_BYTES = 256 * 1024;

type Header = Parameters<JWTVerifyGetKey>[0];
type Token = Parameters<JWTVerifyGetKey>[1];
/** A key jose verifies a signature with (a CryptoKey, KeyObject, JWK or bytes), opaque outside this file. */
export type VerifyKey = object;

/** At most this many keys of one `alg` are tried for a token without a `kid`: each costs a signature check. */
const MAX_CANDIDATE_KEYS = 8;

/** Why no key could be found for a token. */
export type KeyLookupFailure = "unknown-kid" | "unavailable";

/**
 * JwksKeys is the public keys of `auth.jwt.jwksUrl`, fetched and cached. jose's `createLocalJWKSet`
 * picks the key (by `kid`, `alg`, key type); the fetching is ours so that it reads the injected clock and
 * never drops keys it has: a refresh that fails (down, timeout, not a JWK Set) keeps the previous set,
 * and with no set at all a token is refused, never let through.
 *
 * - An unknown `kid` refetches the set once, unless a fetch started less than 30 s ago; then it is refused.
 * - A set older than 10 minutes is refreshed in the background; tokens are checked with the cached set meanwhile.
 * - Concurrent tokens share one fetch in flight.
 */
export class JwksKeys {
  readonly #url: string;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #dispatcher: Dispatcher | undefined;
  /** Our own keep-alive pool when none is injected: closed with the step, so no socket outlives the plugin. */
  #ownAgent: Agent | undefined;
  #closed = new AbortController();
  readonly #timeoutMs: number;
  #keys: JWTVerifyGetKey | undefined;
  #fetchedAtMs = Number.NEGATIVE_INFINITY;
  #attemptedAtMs = Number.NEGATIVE_INFINITY;
  #inFlight: Promise<void> | undefined;
  /** Key set fetches made, successful or not (tests and diagnostics). */
  fetches = 0;

  constructor(url: string, deps: { clock: Clock; log: Logger; dispatcher?: BackendDispatcher | undefined; timeoutMs?: number }) {
    this.#url = url;
    this.#clock = deps.clock;
    this.#log = deps.log;
    // An application's own undici dispatcher (structurally typed in the public declarations).
    this.#dispatcher = deps.dispatcher as Dispatcher | undefined;
    this.#timeoutMs = deps.timeoutMs ?? JWKS_TIMEOUT_MS;
  }

  /** Fetches the key set ahead of the first token (a failure is logged; the first token retries). */
  start(): void {
    void this.#refresh();
  }

  /** Aborts a fetch in flight and closes the pool: nothing of the key set stays open after the plugin. */
  async close(): Promise<void> {
    this.#closed.abort();
    await this.#inFlight;
    await this.#ownAgent?.destroy();
    this.#ownAgent = undefined;
  }

  /**
   * The keys for a token's protected header (one, or every candidate when the set has several keys of
   * its `alg` and no `kid` tells them apart), or why there is none.
   */
  async getKeys(header: object, token: object): Promise<readonly VerifyKey[] | KeyLookupFailure> {
    // The parameters are jose's protected header and token, typed loosely so that the package's
    // declarations do not name jose (bundled into the package rather than installed).
    return this.#getKeys(header as Header, token as Token);
  }

  async #getKeys(header: Header, token: Token): Promise<readonly VerifyKey[] | KeyLookupFailure> {
    const now = this.#clock.now();
    if (this.#keys === undefined) {
      if (now - this.#attemptedAtMs >= JWKS_REFETCH_INTERVAL_MS || this.#inFlight !== undefined) await this.#refresh();
      if (this.#keys === undefined) return "unavailable";
    } else if (
      now - this.#fetchedAtMs >= JWKS_MAX_AGE_MS &&
      this.#inFlight === undefined &&
      now - this.#attemptedAtMs >= JWKS_REFETCH_INTERVAL_MS
    ) {
      void this.#refresh();
    }
    const first = await this.#select(header, token);
    if (first !== undefined) return first;
    if (this.#clock.now() - this.#attemptedAtMs < JWKS_REFETCH_INTERVAL_MS && this.#inFlight === undefined) return "unknown-kid";
    await this.#refresh();
    return (await this.#select(header, token)) ?? "unknown-kid";
  }

  /** The keys jose's local set picks, or undefined when none matches (other errors are thrown to the verify). */
  async #select(header: Header, token: Token): Promise<readonly VerifyKey[] | undefined> {
    try {
      return [await this.#keys!(header, token)];
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey) return undefined;
      if (error instanceof errors.JWKSMultipleMatchingKeys) {
        // jose hands the candidates over as an async iterator (keys that fail to import are skipped).
        const candidates: VerifyKey[] = [];
        for await (const key of error as unknown as AsyncIterable<VerifyKey>) {
          candidates.push(key);
          if (candidates.length >= MAX_CANDIDATE_KEYS) break;
        }
        return candidates.length > 0 ? candidates : undefined;
      }
      throw error;
    }
  }

  #refresh(): Promise<void> {
    this.#inFlight ??= this.#fetch().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #fetch(): Promise<void> {
    if (this.#closed.signal.aborted) return;
    this.#attemptedAtMs = this.#clock.now();
    this.fetches += 1;
    try {
      const body = await this.#download();
      this.#keys = createLocalJWKSet(body);
      this.#fetchedAtMs = this.#clock.now();
      this.#log.debug({ event: "jwt.jwks_fetched", keys: body.keys.length }, "JWKS fetched");
    } catch (error) {
      // The previous keys (if any) stay: a JWKS endpoint that is down must not refuse valid tokens, nor admit any.
      this.#log.warn(
        { event: "jwt.jwks_unavailable", err: error, keptKeys: this.#keys !== undefined },
        "JWKS could not be fetched; keeping the keys already fetched",
      );
    }
  }

  async #download(): Promise<JSONWebKeySet> {
    const reply = await request(this.#url, {
      method: "GET",
      headers: { accept: "application/json" },
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
      signal: AbortSignal.any([AbortSignal.timeout(this.#timeoutMs), this.#closed.signal]),
      dispatcher: this.#dispatcher ?? (this.#ownAgent ??= new Agent({ connections: 2, connectTimeout: this.#timeoutMs })),
    });
    if (reply.statusCode !== 200) {
      await reply.body.dump();
      throw new Error(`JWKS endpoint answered HTTP ${reply.statusCode}`);
    }
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of reply.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > JWKS_MAX_BYTES) {
        reply.body.destroy();
        throw new Error(`JWKS is larger than ${JWKS_MAX_BYTES} bytes`);
      }
      chunks.push(chunk);
    }
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    if (parsed === null || typeof parsed !== "object" || !Array.isArray((parsed as { keys?: unknown }).keys)) {
      throw new Error("JWKS is not a JSON object with a keys array");
    }
    return parsed as JSONWebKeySet;
  }
}
