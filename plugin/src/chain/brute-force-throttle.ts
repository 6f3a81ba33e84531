import type { Clock } from "../clock.js";
import type { BruteForceConfig } from "../config/brute-force-schema.js";
import { FailureThrottle } from "../failure-throttle.js";
import type { Logger } from "../log.js";
import { subscriberBlockOf } from "../net/subscriber-block.js";
import type { AuthRequest } from "./auth-request.js";
import { deny, type StepVerdict } from "./decision.js";

/** The reason a banned address is refused. */
export const BANNED_REASON = "too many failed attempts";

/**
 * BruteForceThrottle counts failed credentials (wrong password, unknown login, forged signed link) per
 * address; `maxFailures` within `windowSec` ban the address for `banSec`: while banned, every new
 * request from it that carries credentials is denied, right ones included. IPv6 viewers are counted
 * per /64, the block one subscriber usually holds. Re-checks of playing sessions are neither counted
 * nor banned: they are not attempts. Memory is bounded by LRU caches.
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

  /** Records a failed credential from the request's address and returns the deny for it. */
  fail(request: AuthRequest, reason: string): StepVerdict {
    if (request.purpose === "new") this.#count(request);
    return deny(reason);
  }

  #count(request: AuthRequest): void {
    const key = keyOf(request);
    const failures = this.#throttle.fail(key);
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
