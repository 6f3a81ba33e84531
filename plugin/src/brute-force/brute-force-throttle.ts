import type { Clock } from "../core/clock.js";
import type { BruteForceConfig } from "./brute-force-schema.js";
import { FailureThrottle } from "../core/failure-throttle.js";
import type { Logger } from "../core/log.js";
import { subscriberBlockOf } from "../net/subscriber-block.js";
import type { AuthRequest } from "../core/auth-request.js";
import { deny, type StepVerdict } from "../core/decision.js";

/** The reason a banned address is refused. */
export const BANNED_REASON = "too many failed attempts";

/** A credential check reserved before its expensive part (a password hash): settle it exactly once. */
export interface CredentialAttempt {
  /** The credential was right, or the check never ran: frees the attempt's place, counts nothing. */
  release(): void;
  /** The credential was wrong: counts the failure and returns the deny with this reason. */
  fail(reason: string): StepVerdict;
}

/**
 * BruteForceThrottle counts failed credentials (wrong password, unknown login, forged signed link, a
 * user token nothing accepts) per address; `maxFailures` within `windowSec` ban the address for
 * `banSec`: while banned, every new request from it that carries credentials is denied, right ones
 * included. IPv6 viewers are counted per /64, the block one subscriber usually holds. Re-checks of
 * playing sessions are neither counted nor banned: they are not attempts; an explain (`dryRun`) is told
 * whether its address is banned and counts nothing.
 *
 * A password attempt is counted before it is hashed (`begin`): an address whose attempts in flight
 * plus failures reach `maxFailures` is refused without hashing, so a burst of guesses from one
 * address runs at most `maxFailures` hashes. Memory: see FailureThrottle (LRU caches of 100,000
 * addresses each; attempts in flight bounded by the hashes running and queued).
 */
export class BruteForceThrottle {
  readonly #config: BruteForceConfig;
  readonly #log: Logger;
  readonly #throttle: FailureThrottle;

  constructor(config: BruteForceConfig, clock: Clock, log: Logger) {
    this.#config = config;
    this.#log = log;
    this.#throttle = new FailureThrottle(clock, config);
  }

  /** A deny when the request's address is banned, else undefined. */
  refusal(request: AuthRequest): StepVerdict | undefined {
    if (request.purpose !== "new") return undefined;
    return this.#throttle.isBanned(keyOf(request)) ? deny(BANNED_REASON) : undefined;
  }

  /**
   * Reserves an attempt before an expensive check, or undefined when the address may not make one
   * now (banned, or its attempts in flight plus failures reach `maxFailures`): refuse it with
   * BANNED_REASON, without doing the work. A re-check always gets an attempt that counts nothing.
   */
  begin(request: AuthRequest): CredentialAttempt | undefined {
    if (request.purpose !== "new") return { release() {}, fail: (reason) => deny(reason) };
    const key = keyOf(request);
    // An explain reserves nothing and counts nothing: it is told what a real attempt would be told.
    if (request.dryRun !== undefined) return this.#throttle.isBanned(key) ? undefined : { release() {}, fail: (reason) => deny(reason) };
    if (!this.#throttle.reserve(key)) return undefined;
    let settled = false;
    const settle = (failed: boolean) => {
      if (settled) return;
      settled = true;
      this.#logBan(key, this.#throttle.settle(key, failed));
    };
    return {
      release: () => settle(false),
      fail: (reason) => {
        settle(true);
        return deny(reason);
      },
    };
  }

  /** Records a failed credential from the request's address and returns the deny for it. */
  fail(request: AuthRequest, reason: string): StepVerdict {
    this.countFailure(request);
    return deny(reason);
  }

  /** Records a failed credential from the request's address (nothing for a re-check). */
  countFailure(request: AuthRequest): void {
    if (request.purpose !== "new" || request.dryRun !== undefined) return;
    const key = keyOf(request);
    this.#logBan(key, this.#throttle.fail(key));
  }

  #logBan(key: string, failures: number): void {
    if (failures === 0) return;
    this.#log.warn(
      { event: "auth.ip_banned", ip: key, failures, windowSec: this.#config.windowSec, banSec: this.#config.banSec },
      "address banned after repeated failed credentials",
    );
  }
}

/** The address as counted: IPv4 as is, IPv6 by its /64. */
function keyOf(request: AuthRequest): string {
  return subscriberBlockOf(request.address, request.ip);
}
