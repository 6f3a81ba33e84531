import { PROTOCOLS } from "../core/auth-request.js";
import { MinuteQuota, minuteOf } from "../core/minute-quota.js";
import { END_REASONS, REFUSAL_STAGES, type ViewerSession } from "../core/viewer-session.js";

/** Distinct refusal counters (reason, stage, channel, protocol, identified) per minute; beyond it the channel becomes OTHER_CHANNEL. */
export const REFUSAL_KEYS_PER_MINUTE = 1_000;
/** Where refusals go once a minute has REFUSAL_KEYS_PER_MINUTE counters. */
export const OTHER_CHANNEL = "(other)";
/** Longest `app/channel` kept in a counter (viewers choose the name); longer ones are cut. */
export const REFUSAL_CHANNEL_CHARS = 48;

/** One counter: how many sessions that never played ended this way in one minute. */
export interface RefusalCount {
  /** Start of the UTC minute, ms since the epoch. */
  minute: number;
  /** How the session ended (`denied`, `limit`, `viewer-left`, `idle`, `not-found`, …): a fixed set. */
  reason: string;
  /** The stage that refused it (a chain step, `input`, `revoked`, `hls-unplayed`) or `none` (it was not refused: left, idle). */
  stage: string;
  /** `app/channel`, cut to REFUSAL_CHANNEL_CHARS, or OTHER_CHANNEL. */
  channel: string;
  protocol: string;
  /** 1 when the viewer had an identity (its individual rows were over the per-identity quota), else 0. */
  identified: 0 | 1;
  count: number;
}

const END_REASON_SET: ReadonlySet<string> = new Set(END_REASONS);
const STAGES: ReadonlySet<string> = new Set(REFUSAL_STAGES);
const PROTOCOL_SET: ReadonlySet<string> = new Set(PROTOCOLS);

/**
 * RefusalTally counts sessions that never played per minute instead of keeping a row each: a flood of
 * refused requests then costs at most REFUSAL_KEYS_PER_MINUTE (plus a few `(other)`) counters a minute,
 * whatever the rate. Every field of a counter is from a fixed set except the channel, which is cut and
 * capped. Counters wait in memory until the ledger's next flush writes them (`drain`).
 */
export class RefusalTally {
  readonly #keys = new MinuteQuota(Number.MAX_SAFE_INTEGER, REFUSAL_KEYS_PER_MINUTE);
  readonly #pending = new Map<string, RefusalCount>();

  /** Counts one session that never played. */
  add(session: ViewerSession, atMs: number, identified: boolean): void {
    const minute = minuteOf(atMs);
    const reason = session.endReason !== undefined && END_REASON_SET.has(session.endReason) ? session.endReason : "other";
    const stage = session.refusal === undefined ? "none" : STAGES.has(session.refusal.stage) ? session.refusal.stage : "other";
    const protocol = PROTOCOL_SET.has(session.protocol) ? session.protocol : "other";
    const flag = identified ? 1 : 0;
    let channel = `${cut(session.app)}/${cut(session.channel)}`.slice(0, REFUSAL_CHANNEL_CHARS);
    let key = `${minute}\n${reason}\n${stage}\n${protocol}\n${flag}\n${channel}`;
    if (!this.#pending.has(key) && !this.#keys.take(key, atMs)) {
      channel = OTHER_CHANNEL;
      key = `${minute}\n${reason}\n${stage}\n${protocol}\n${flag}\n${channel}`;
    }
    const counter = this.#pending.get(key);
    if (counter !== undefined) counter.count++;
    else this.#pending.set(key, { minute, reason, stage, channel, protocol, identified: flag, count: 1 });
  }

  /** Counters waiting to be written. */
  get size(): number {
    return this.#pending.size;
  }

  /** The waiting counters, oldest first; `commit` forgets them once written. */
  pending(): RefusalCount[] {
    return [...this.#pending.values()];
  }

  /** Forgets every waiting counter (written, or dropped). */
  clear(): void {
    this.#pending.clear();
  }
}

/** A viewer-chosen name as text, cut before it is joined (an AMF object becomes a marker, not its print). */
function cut(value: unknown): string {
  if (typeof value === "string") return value.length > REFUSAL_CHANNEL_CHARS ? value.slice(0, REFUSAL_CHANNEL_CHARS) : value;
  return typeof value === "number" ? String(value) : "[value]";
}
