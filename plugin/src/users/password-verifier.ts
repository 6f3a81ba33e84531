import { randomBytes } from "node:crypto";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/log.js";
import { secretsEqual } from "../core/secrets.js";
import { DEFAULT_SCRYPT, type StoredPassword } from "./stored-password.js";
import { verifyPassword } from "./password-hash.js";

/** The hash slots a PasswordVerifier hands out (`auth.bruteForce` keys of the same names). */
export interface PasswordVerifierOptions {
  /** scrypt hashes running at once; the rest wait. Default 2. */
  maxConcurrentHashes: number;
  /** Checks of new viewers that may wait for a slot; one more is answered busy at once. Default 100. */
  maxQueuedHashes: number;
  /** How long a new viewer's check waits for a slot before it is answered busy, in ms. Default 3000. */
  hashQueueTimeoutMs: number;
}

/** The answer of a check that got no hash slot (the queue was full, or the wait timed out). */
export const BUSY = "busy" as const;

/** A check's answer: the password matches, it does not, or the check could not run now. */
export type PasswordCheck = boolean | typeof BUSY;

/**
 * Who waits for a slot: a new viewer (`bounded`: a place in the bounded queue, for at most the
 * timeout) or a re-check of a playing session (`unbounded`: waits as long as it takes, so that a busy
 * moment never cuts a viewer who is watching; their number is bounded by the live sessions).
 */
export type HashWait = "bounded" | "unbounded";

/** Counters of the hashes a verifier ran, for metrics and tests. */
export interface HashCounters {
  /** scrypt hashes started since the verifier was made (dummy hashes included). */
  readonly hashes: number;
  /** Hashes running now. */
  readonly running: number;
  /** The most hashes that ever ran at once. */
  readonly peakRunning: number;
  /** Checks waiting for a slot now. */
  readonly queued: number;
  /** Checks answered busy since the verifier was made. */
  readonly busy: number;
}

interface Waiter {
  readonly bounded: boolean;
  readonly grant: (granted: boolean) => void;
  timer: NodeJS.Timeout | undefined;
}

/** How often `auth.hashes_busy` may be logged: once per minute, with the count since the last line. */
const BUSY_LOG_INTERVAL_MS = 60_000;

/**
 * PasswordVerifier checks viewers' passwords with at most `maxConcurrentHashes` scrypt hashes running
 * at once. scrypt runs on libuv's thread pool (4 threads by default), which also serves every file read,
 * HLS segments included: a burst of password guesses must not take all of it. Checks over the cap
 * wait in a queue of at most `maxQueuedHashes` for at most `hashQueueTimeoutMs`, then are answered
 * `busy` (the viewer is refused and may retry; it is not a failed credential). Refusals are logged as
 * `auth.hashes_busy` (warn), at most once a minute.
 *
 * Every check costs exactly one scrypt hash, whatever is stored, so the time taken does not tell an
 * unknown login or a token-only user (no stored password: a dummy hash, then false) or a plaintext
 * password (a dummy hash, then a constant-time compare) from a wrong password.
 *
 * Memory: the queue holds at most `maxQueuedHashes` new viewers plus the re-checks of live sessions.
 *
 * @example
 * const verifier = new PasswordVerifier({ maxConcurrentHashes: 2, maxQueuedHashes: 100, hashQueueTimeoutMs: 3000 }, clock, log);
 * const answer = await verifier.check("pa55word", user.password, "bounded"); // true | false | "busy"
 */
export class PasswordVerifier {
  readonly #options: PasswordVerifierOptions;
  readonly #clock: Clock;
  readonly #log: Logger | undefined;
  readonly #queue: Waiter[] = [];
  #boundedWaiting = 0;
  #running = 0;
  #peakRunning = 0;
  #hashes = 0;
  #busy = 0;
  #busySinceLog = 0;
  #busyLoggedAtMs = -Infinity;
  #closed = false;

  constructor(options: PasswordVerifierOptions, clock: Clock, log?: Logger) {
    this.#options = options;
    this.#clock = clock;
    this.#log = log;
  }

  /**
   * Checks a password against what is stored (undefined: nothing, the login is unknown or token-only).
   * Resolves true only for a match; `busy` when no hash slot came free in time.
   */
  async check(password: string, stored: StoredPassword | undefined, wait: HashWait): Promise<PasswordCheck> {
    if (!(await this.#acquire(wait === "bounded"))) {
      this.#noteBusy();
      return BUSY;
    }
    this.#hashes++;
    try {
      if (stored?.kind === "scrypt") return await verifyPassword(password, stored);
      await verifyPassword(password, DUMMY_PASSWORD); // never matches: it only spends the time a real check takes
      return stored?.kind === "plain" && secretsEqual(password, stored.text);
    } finally {
      this.#release();
    }
  }

  /** What the verifier has done so far. */
  get counters(): HashCounters {
    return { hashes: this.#hashes, running: this.#running, peakRunning: this.#peakRunning, queued: this.#queue.length, busy: this.#busy };
  }

  /** Answers every waiting check busy and every later one too (the plugin detaches). */
  close(): void {
    this.#closed = true;
    for (const waiter of this.#queue.splice(0)) {
      if (waiter.timer !== undefined) clearTimeout(waiter.timer);
      waiter.grant(false);
    }
    this.#boundedWaiting = 0;
  }

  /** Resolves true with a slot taken, or false (busy) when none came free within the rules of the wait. */
  #acquire(bounded: boolean): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    if (this.#running < this.#options.maxConcurrentHashes) {
      this.#running++;
      this.#peakRunning = Math.max(this.#peakRunning, this.#running);
      return Promise.resolve(true);
    }
    if (bounded && this.#boundedWaiting >= this.#options.maxQueuedHashes) return Promise.resolve(false);
    return new Promise<boolean>((grant) => {
      const waiter: Waiter = { bounded, grant, timer: undefined };
      if (bounded) {
        this.#boundedWaiting++;
        waiter.timer = setTimeout(() => {
          const at = this.#queue.indexOf(waiter);
          if (at >= 0) this.#queue.splice(at, 1);
          this.#boundedWaiting--;
          grant(false);
        }, this.#options.hashQueueTimeoutMs);
      }
      this.#queue.push(waiter);
    });
  }

  /** Frees a slot: the first waiter takes it over (the running count stays), or it goes back to the pool. */
  #release(): void {
    const next = this.#queue.shift();
    if (next === undefined) {
      this.#running--;
      return;
    }
    if (next.timer !== undefined) clearTimeout(next.timer);
    if (next.bounded) this.#boundedWaiting--;
    next.grant(true);
  }

  #noteBusy(): void {
    this.#busy++;
    this.#busySinceLog++;
    const now = this.#clock.now();
    if (this.#log === undefined || now - this.#busyLoggedAtMs < BUSY_LOG_INTERVAL_MS) return;
    this.#log.warn(
      {
        event: "auth.hashes_busy",
        refused: this.#busySinceLog,
        maxConcurrentHashes: this.#options.maxConcurrentHashes,
        maxQueuedHashes: this.#options.maxQueuedHashes,
      },
      "password checks refused as busy: too many at once (auth.bruteForce.maxConcurrentHashes, maxQueuedHashes, hashQueueTimeoutMs)",
    );
    this.#busyLoggedAtMs = now;
    this.#busySinceLog = 0;
  }
}

/** A stand-in hash that no password matches, verified when there is no scrypt hash to check. */
const DUMMY_PASSWORD: StoredPassword = {
  kind: "scrypt",
  ...DEFAULT_SCRYPT,
  salt: randomBytes(16).toString("base64url"),
  hash: randomBytes(32).toString("base64url"),
};
