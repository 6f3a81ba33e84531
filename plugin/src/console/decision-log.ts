import type { AuthChain } from "../chain/auth-chain.js";
import type { AuthRequest } from "../core/auth-request.js";
import type { Clock } from "../core/clock.js";
import type { Decision } from "../core/decision.js";

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
  /** The user or session name an allow named. */
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

/** How many decisions the log keeps (the newest). */
export const DECISION_LOG_SIZE = 5_000;

/**
 * DecisionLog keeps the chain's latest decisions in a ring buffer for the console's Decisions page:
 * who was refused, by which step, why. Memory is bounded by DECISION_LOG_SIZE entries whatever the
 * traffic; the viewer-chosen texts (user agent) are capped.
 */
export class DecisionLog {
  readonly #entries: (DecisionEntry | undefined)[];
  #next = 0;
  #count = 0;
  readonly #unsubscribe: () => void;

  constructor(chain: AuthChain, clock: Clock, size = DECISION_LOG_SIZE) {
    this.#entries = new Array<DecisionEntry | undefined>(size);
    const listener = (request: AuthRequest, decision: Decision) => this.add(entryOf(request, decision, clock.now()));
    chain.on("decision", listener);
    this.#unsubscribe = () => chain.off("decision", listener);
  }

  add(entry: DecisionEntry): void {
    this.#entries[this.#next] = entry;
    this.#next = (this.#next + 1) % this.#entries.length;
    this.#count = Math.min(this.#count + 1, this.#entries.length);
  }

  /** The matching decisions, newest first, at most `limit`. */
  recent(filter: DecisionFilter, limit: number): DecisionEntry[] {
    const found: DecisionEntry[] = [];
    const size = this.#entries.length;
    const text = filter.text?.toLowerCase();
    for (let i = 1; i <= this.#count && found.length < limit; i++) {
      const e = this.#entries[(this.#next - i + size) % size]!;
      if (filter.verdict !== undefined && e.verdict !== filter.verdict) continue;
      if (filter.step !== undefined && e.step !== filter.step) continue;
      if (filter.channel !== undefined && e.channel !== filter.channel && `${e.app}/${e.channel}` !== filter.channel) continue;
      if (filter.ip !== undefined && e.ip !== filter.ip) continue;
      if (text !== undefined && ![e.reason, e.userAgent, e.user ?? "", e.ip, e.channel].some((v) => v.toLowerCase().includes(text))) continue;
      found.push(e);
    }
    return found;
  }

  close(): void {
    this.#unsubscribe();
  }
}

const MAX_TEXT = 256;

function entryOf(request: AuthRequest, decision: Decision, at: number): DecisionEntry {
  const user = decision.verdict === "allow" ? (decision.user?.userId ?? decision.user?.name) : undefined;
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
