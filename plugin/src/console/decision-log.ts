import type { AuthChain } from "../chain/auth-chain.js";
import type { AuthRequest } from "../core/auth-request.js";
import type { Clock } from "../core/clock.js";
import type { Decision } from "../core/decision.js";
import { MinuteQuota, minuteOf } from "../core/minute-quota.js";
import type { SessionStore } from "../core/session-store.js";
import type { ViewerSession } from "../core/viewer-session.js";

/** One chain decision as the audit log keeps it: no credential (no query, no token), only who, what and why. */
export interface DecisionEntry {
  at: number;
  verdict: "allow" | "deny";
  step: string;
  reason: string;
  protocol: string;
  app: string;
  channel: string;
  ip: string;
  userAgent: string;
  /** The user or session name an allow named (also on a deny that vetoed such an allow: a revoked user). */
  user: string | undefined;
  sessionId: string;
}

/** What the audit log can be filtered by; every given field must match (`text` anywhere, case-insensitive). */
export interface DecisionFilter {
  verdict?: string;
  step?: string;
  channel?: string;
  ip?: string;
  text?: string;
}

/** How many decisions the log shows at most (the newest, all rings together); also the size of the allowed ring. */
export const DECISION_LOG_SIZE = 5_000;
/** Refusals of identified viewers (a limit, a revoked user or token) kept; per identity at most NOTABLE_PER_IDENTITY a minute. */
export const NOTABLE_REFUSALS_KEPT = 1_000;
const NOTABLE_PER_IDENTITY = 5;
const NOTABLE_IDENTITIES_PER_MINUTE = 200;
/** Anonymous refusals kept one by one: the newest few; the rest are only counted (`anonymousSummary`). */
export const ANONYMOUS_REFUSALS_KEPT = 500;
/** Minutes of anonymous refusal counts kept. */
const SUMMARY_MINUTES = 60;

/** Anonymous refusals counted over the last hour, by the step that refused them. */
export interface AnonymousRefusalSummary {
  sinceMs: number;
  total: number;
  byStep: Record<string, number>;
}

/** A ring buffer of entries, each with its place in the order they were added across rings. */
class Ring {
  readonly #entries: ({ seq: number; entry: DecisionEntry } | undefined)[];
  #next = 0;

  constructor(size: number) {
    this.#entries = new Array(Math.max(1, size));
  }

  add(seq: number, entry: DecisionEntry): void {
    this.#entries[this.#next] = { seq, entry };
    this.#next = (this.#next + 1) % this.#entries.length;
  }

  /** Every entry, newest first. */
  *newest(): Generator<{ seq: number; entry: DecisionEntry }> {
    const size = this.#entries.length;
    for (let i = 1; i <= size; i++) {
      const e = this.#entries[(this.#next - i + size) % size];
      if (e === undefined) return;
      yield e;
    }
  }
}

/**
 * DecisionLog keeps the latest decisions for the console's Decisions page: who was let in, who was
 * refused, by which step, why. Three bounded rings, so a flood of one kind cannot wipe the others:
 * allowed decisions (`size`), refusals of identified viewers (a session limit, a revoked user or token,
 * too many unplayed HLS sessions: NOTABLE_REFUSALS_KEPT, at most a few a minute per identity) and the
 * chain's refusals, which name no one (ANONYMOUS_REFUSALS_KEPT, the rest only counted per minute and
 * step). `recent` merges them by time and shows the newest `size`. No credential is kept; the
 * viewer-chosen texts (user agent) are capped.
 */
export class DecisionLog {
  readonly #size: number;
  readonly #allowed: Ring;
  readonly #notable: Ring;
  readonly #anonymous: Ring;
  readonly #notableQuota = new MinuteQuota(NOTABLE_PER_IDENTITY, NOTABLE_IDENTITIES_PER_MINUTE);
  readonly #counts = new Map<number, Map<string, number>>();
  readonly #clock: Clock;
  #seq = 0;
  readonly #unsubscribe: () => void;

  /** With `sessions`, refusals after an allow (limits, revocations) are logged too: the chain saw those as allowed. */
  constructor(chain: AuthChain, clock: Clock, size = DECISION_LOG_SIZE, sessions?: SessionStore) {
    this.#size = size;
    this.#clock = clock;
    this.#allowed = new Ring(size);
    this.#notable = new Ring(Math.min(size, NOTABLE_REFUSALS_KEPT));
    this.#anonymous = new Ring(Math.min(size, ANONYMOUS_REFUSALS_KEPT));
    const listener = (request: AuthRequest, decision: Decision) => this.add(entryOf(request, decision, clock.now()));
    chain.on("decision", listener);
    const stopEnded = sessions?.subscribe("ended", (session) => this.#ended(session));
    this.#unsubscribe = () => {
      chain.off("decision", listener);
      stopEnded?.();
    };
  }

  /** Logs one entry in its ring: allowed, identified refusal (`user` set) or anonymous refusal. */
  add(entry: DecisionEntry): void {
    const seq = this.#seq++;
    if (entry.verdict === "allow") return this.#allowed.add(seq, entry);
    if (entry.user !== undefined) {
      if (this.#notableQuota.take(entry.user, entry.at)) return this.#notable.add(seq, entry);
    }
    this.#count(entry);
    this.#anonymous.add(seq, entry);
  }

  /** The matching decisions among the newest `size`, newest first, at most `limit`. */
  recent(filter: DecisionFilter, limit: number): DecisionEntry[] {
    const merged = [...this.#allowed.newest(), ...this.#notable.newest(), ...this.#anonymous.newest()].sort((a, b) => b.seq - a.seq);
    const found: DecisionEntry[] = [];
    const text = filter.text?.toLowerCase();
    for (const { entry: e } of merged.slice(0, this.#size)) {
      if (found.length >= limit) break;
      if (filter.verdict !== undefined && e.verdict !== filter.verdict) continue;
      if (filter.step !== undefined && e.step !== filter.step) continue;
      if (filter.channel !== undefined && e.channel !== filter.channel && `${e.app}/${e.channel}` !== filter.channel) continue;
      if (filter.ip !== undefined && e.ip !== filter.ip) continue;
      if (text !== undefined && ![e.reason, e.userAgent, e.user ?? "", e.ip, e.channel].some((v) => v.toLowerCase().includes(text)))
        continue;
      found.push(e);
    }
    return found;
  }

  /** Refusals that named no one (and identified ones over their quota) in the last hour, by step: kept one by one only the newest few. */
  anonymousSummary(): AnonymousRefusalSummary {
    const since = minuteOf(this.#clock.now()) - (SUMMARY_MINUTES - 1) * 60_000;
    const byStep: Record<string, number> = {};
    let total = 0;
    for (const [minute, steps] of this.#counts) {
      if (minute < since) continue;
      for (const [step, n] of steps) {
        byStep[step] = (byStep[step] ?? 0) + n;
        total += n;
      }
    }
    return { sinceMs: since, total, byStep };
  }

  close(): void {
    this.#unsubscribe();
  }

  #count(entry: DecisionEntry): void {
    const minute = minuteOf(entry.at);
    let steps = this.#counts.get(minute);
    if (steps === undefined) {
      for (const m of this.#counts.keys()) if (m <= minute - SUMMARY_MINUTES * 60_000) this.#counts.delete(m);
      this.#counts.set(minute, (steps = new Map()));
    }
    // Steps are a fixed set (chain steps and refusal stages): the map stays small.
    steps.set(entry.step, (steps.get(entry.step) ?? 0) + 1);
  }

  /** A refusal after the chain allowed (a session limit, unplayed HLS sessions). */
  #ended(session: ViewerSession): void {
    const refusal = session.refusal;
    if (refusal === undefined || session.playingSince !== undefined || (session.endReason !== "limit" && session.endReason !== "denied"))
      return;
    // The chain's own denies, its `revoked` step's among them, are logged from its decisions; these came after an allow.
    if (refusal.stage === "revoked") return;
    const user = refusal.identity?.userId ?? refusal.identity?.name;
    if (user === undefined && refusal.stage !== "hls-unplayed") return;
    this.add({
      at: session.endedAt ?? this.#clock.now(),
      verdict: "deny",
      step: refusal.stage,
      reason: refusal.stage === "hls-unplayed" ? "refused: too many HLS sessions that fetched no segment" : "refused: at a session limit",
      protocol: session.protocol,
      app: session.app.slice(0, MAX_TEXT),
      channel: session.channel.slice(0, MAX_TEXT),
      ip: session.ip,
      userAgent: session.userAgent.slice(0, MAX_TEXT),
      user: user?.slice(0, MAX_TEXT) ?? "(credential)",
      sessionId: session.id,
    });
  }
}

const MAX_TEXT = 256;

function entryOf(request: AuthRequest, decision: Decision, at: number): DecisionEntry {
  // An allow's identity, or the one a vetoed allow named (a revoked user): that refusal is an identified one.
  const user = decision.user?.userId ?? decision.user?.name;
  return {
    at,
    verdict: decision.verdict,
    step: decision.step,
    reason: decision.reason.slice(0, MAX_TEXT),
    protocol: request.protocol,
    app: request.app.slice(0, MAX_TEXT),
    channel: request.channel.slice(0, MAX_TEXT),
    ip: request.ip,
    userAgent: request.userAgent.slice(0, MAX_TEXT),
    user,
    sessionId: request.sessionId,
  };
}
