import type { Clock } from "../core/clock.js";
import type { PublishConfig } from "../config/publish-schema.js";
import { isLoopback, parseIpAddress } from "../net/ip-address.js";
import type { LocalProcesses, TcpEndpoints } from "../net/process-proof.js";
import { IpRuleList } from "../net/ip-rule-list.js";
import { SECURETOKEN_FORMAT_BY_NAME } from "../securetoken/securetoken-formats.js";
import { checkSignedLink, HASH_MISMATCH } from "../securetoken/signed-link-check.js";

/**
 * A publisher that starts, as a host reports it (the fields of `PublishStart` in
 * hosts/host-adapter.ts the policy reads; that type fits here as it is).
 */
export interface PublishAttempt {
  readonly app: string;
  readonly channel: string;
  /** The publisher's address as text (behind a trusted proxy, the one it reports); "" when unknown. */
  readonly ip: string;
  /** The publish URL's query parameters, first value of each key. */
  readonly query: Readonly<Record<string, string>>;
  /** True when the name already has a live publisher (hosts that know it say so). */
  readonly live?: boolean;
  /** How the publisher connected; the internal publish is proven for RTMP only. */
  readonly protocol?: "rtmp" | "flv" | "ws-flv";
  /** An RTMP publisher's TCP ports, for the proof of the server's own ingest (hosts that know them say so). */
  readonly connection?: TcpEndpoints;
}

/** Why a publisher was let in: a closed set, so it can label a metric. */
export const PUBLISH_ALLOW_REASONS = ["internal", "allowed-address", "signed"] as const;
/** Why a publisher was refused. */
export const PUBLISH_DENY_REASONS = [
  "channel-live",
  "signature-malformed", "signature-forged", "signature-expired", "signature-not-yet-valid", "not-allowed",
] as const;
export type PublishReason = (typeof PUBLISH_ALLOW_REASONS)[number] | (typeof PUBLISH_DENY_REASONS)[number];

/** The policy's answer: `reason` labels the metric, `detail` says more in the audit log (never a secret). */
export interface PublishDecision {
  readonly allow: boolean;
  readonly reason: PublishReason;
  readonly detail: string;
}

/**
 * PublishPolicy decides who may publish into an app/stream, in this order:
 * 1. a name that is live already: refused (no take-over, no mixing), whoever asks;
 * 2. the server's own ingest: a loopback RTMP connection whose client end the kernel says is held by one
 *    of `internalProcesses` (net/process-proof.ts; no secret, nothing in a URL; Linux only, elsewhere
 *    nothing is proven and the publisher goes on to the next rules);
 * 3. an address on `publish.allowIps` (loopback by default);
 * 4. a publish link signed with one of `publish.securetoken.secrets`, bound to `/<app>/<stream>` (and
 *    to the publisher's address with `bindIp`), in its one canonical spelling, with a lifetime of at
 *    most `maxLifetimeSec`, inside its validity window (a value that looks like the format in any
 *    other spelling is refused as forged);
 * 5. everyone else: refused.
 * Synchronous: a host asks it in the same turn as its own publish event, before the publisher's first
 * packet can be forwarded. Its only I/O is the proof of rule 2 (a few synchronous reads of /proc), and
 * only for a loopback RTMP publisher while processes are registered. Hashes are compared in constant time.
 */
export class PublishPolicy {
  readonly #config: PublishConfig;
  readonly #allowList: IpRuleList;
  readonly #internalProcesses: LocalProcesses | undefined;
  readonly #clock: Clock;

  constructor(config: PublishConfig, clock: Clock, internalProcesses?: LocalProcesses) {
    this.#config = config;
    this.#allowList = new IpRuleList(config.allowIps);
    this.#internalProcesses = internalProcesses;
    this.#clock = clock;
  }

  decide(attempt: PublishAttempt): PublishDecision {
    if (attempt.live === true) return deny("channel-live", "the name already has a live publisher");
    const address = parseIpAddress(attempt.ip);
    const processes = this.#internalProcesses;
    const connection = attempt.connection;
    if (processes !== undefined && processes.size > 0 && attempt.protocol === "rtmp" && connection !== undefined && address !== null && isLoopback(address)
      && processes.holdsClientEnd(connection)) {
      return allow("internal", "the server's own ingest (proven from /proc)");
    }
    const range = address === null ? undefined : this.#allowList.match(address);
    if (range !== undefined) return allow("allowed-address", `address on publish.allowIps (${range.text})`);
    return this.#signed(attempt);
  }

  /** Step 4: a publish signature, or the final refusal when there is none (or signatures are off). */
  #signed(attempt: PublishAttempt): PublishDecision {
    const settings = this.#config.securetoken;
    const format = SECURETOKEN_FORMAT_BY_NAME[settings.format];
    const value = paramOf(attempt, format.param);
    if (settings.secrets.length === 0 || value === undefined) return deny("not-allowed", "address not on publish.allowIps and no publish signature");
    if (format.identify(value) === null) return deny("signature-malformed", `publish signature is not in the ${format.name} format`);
    // A publish link names the stream, whatever the protocol: RTMP `/app/stream`, FLV `/app/stream.flv`.
    const path = `/${attempt.app}/${attempt.channel}`;
    const subject = { path, app: attempt.app, channel: attempt.channel, ip: settings.bindIp && format.hashesIp ? attempt.ip : "" };
    const check = checkSignedLink(format, value, subject, settings, this.#clock.now() / 1000);
    switch (check.outcome) {
      case "forged": return check.detail === HASH_MISMATCH
        ? deny("signature-forged", "publish signature does not match: forged, or made for another stream, address or secret")
        : deny("signature-forged", `publish signature refused as forged: ${check.detail}`);
      case "not-yet-valid": return deny("signature-not-yet-valid", `publish signature not valid before ${isoOf(check.startSec)}`);
      case "expired": return deny("signature-expired", `publish signature expired at ${isoOf(check.token.endSec)}`);
      case "too-far-ahead": return deny("signature-forged", `publish signature expiry ${isoOf(check.token.endSec)} lies further ahead than maxLifetimeSec allows`);
      case "valid": return allow("signed", `publish signature (${format.name}) valid until ${isoOf(check.token.endSec)}`);
    }
  }
}

/** A query parameter the attempt itself carries (never one inherited from Object.prototype). */
function paramOf(attempt: PublishAttempt, name: string): string | undefined {
  return Object.hasOwn(attempt.query, name) ? attempt.query[name] : undefined;
}

function allow(reason: (typeof PUBLISH_ALLOW_REASONS)[number], detail: string): PublishDecision {
  return { allow: true, reason, detail };
}

function deny(reason: (typeof PUBLISH_DENY_REASONS)[number], detail: string): PublishDecision {
  return { allow: false, reason, detail };
}

function isoOf(unixSec: number): string {
  const date = new Date(unixSec * 1000);
  return Number.isNaN(date.getTime()) ? String(unixSec) : date.toISOString();
}
