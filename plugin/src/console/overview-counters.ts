import type { AuthChain } from "../chain/auth-chain.js";
import type { AuthRequest, Protocol } from "../core/auth-request.js";
import type { Authorizer, OutboundCall } from "../core/authorizer.js";
import type { Clock } from "../core/clock.js";
import type { Decision } from "../core/decision.js";
import type { SessionStore } from "../core/session-store.js";
import type { ViewerSession } from "../core/viewer-session.js";

/** Minutes of decision counts kept (the overview's chart spans the last hour). */
export const DECISION_MINUTES = 60;
/** How often the bytes sent are summed (one pass over the live sessions), and how far back the rate looks. */
export const BYTES_SAMPLE_INTERVAL_MS = 5_000;
export const BANDWIDTH_WINDOW_MS = 60_000;
/** Backend round trips whose latency is kept for the p50/p99 (the newest). */
export const LATENCY_SAMPLES = 1_000;
const MINUTE_MS = 60_000;

/** One minute of chain decisions: admissions, and refusals by the step that refused. */
export interface DecisionMinute {
  minute: number;
  admitted: number;
  refused: Record<string, number>;
}

/** The backend's round trips since start, and the latency of the newest LATENCY_SAMPLES. */
export interface BackendHealth {
  calls: number;
  errors: number;
  unreachable: number;
  p50Ms: number | null;
  p99Ms: number | null;
  cacheHitRatio: number | null;
}

/** Results of a backend call that are no answer at all (the transport's network failures are named otherwise). */
const ANSWERED_FAILURES: ReadonlySet<string> = new Set(["bad-answer", "invalid-request", "failed"]);

/**
 * OverviewCounters keeps what the console's overview shows as counters updated by events, so one overview
 * costs the same at 10 sessions or 10,000: playing viewers per protocol and channel (the store's
 * `playing` and `ended`, the same sessions `va_live_sessions` counts), chain decisions per minute over
 * the last hour (the same events as `va_decisions_total`, without the server's own `internal` processes),
 * the backend's round trips (the same calls as `va_backend_request_duration_seconds`), and the bytes sent
 * to viewers summed every BYTES_SAMPLE_INTERVAL_MS (ended sessions' final bytes plus live ones', as
 * `va_sent_bytes_total`), from which the bandwidth over the last minute is read.
 */
export class OverviewCounters {
  readonly #clock: Clock;
  readonly #sessions: SessionStore;
  readonly #backend: Authorizer | undefined;
  readonly #playing = new Map<string, { channel: string; protocol: Protocol }>();
  readonly #perProtocol = new Map<Protocol, number>();
  readonly #perChannel = new Map<string, Map<Protocol, number>>();
  readonly #minutes: DecisionMinute[] = [];
  readonly #latenciesMs: number[] = [];
  #latencyNext = 0;
  readonly #calls = { calls: 0, errors: 0, unreachable: 0 };
  #endedBytes = 0;
  readonly #bytesSamples: { at: number; bytes: number }[] = [];
  readonly #detach: () => void;
  #timer: NodeJS.Timeout | undefined;

  constructor(chain: Pick<AuthChain, "on" | "off">, sessions: SessionStore, clock: Clock, backend: Authorizer | undefined) {
    this.#clock = clock;
    this.#sessions = sessions;
    this.#backend = backend;
    for (const s of sessions.list({ state: "playing" })) this.#onPlaying(s);
    const offPlaying = sessions.subscribe("playing", (s) => this.#onPlaying(s));
    const offEnded = sessions.subscribe("ended", (s) => this.#onEnded(s));
    const onDecision = (_: AuthRequest, d: Decision) => this.#onDecision(d);
    chain.on("decision", onDecision);
    const offCalls = backend?.onCall?.((call) => this.#onCall(call));
    this.#detach = () => {
      offPlaying();
      offEnded();
      chain.off("decision", onDecision);
      offCalls?.();
    };
  }

  /** Starts summing the bytes sent every BYTES_SAMPLE_INTERVAL_MS (and sums once now). `close` stops it. */
  start(intervalMs = BYTES_SAMPLE_INTERVAL_MS): void {
    if (this.#timer !== undefined) return;
    this.sampleBytes();
    this.#timer = setInterval(() => this.sampleBytes(), intervalMs);
    this.#timer.unref();
  }

  /** Sums the bytes sent so far (the timer calls it; tests call it to avoid waiting). */
  sampleBytes(): void {
    let live = 0;
    for (const s of this.#sessions.list()) live += s.transport.bytesOut();
    const at = this.#clock.now();
    this.#bytesSamples.push({ at, bytes: this.#endedBytes + live });
    // One sample older than the window stays, so the rate always spans the whole minute once it can.
    while (this.#bytesSamples.length > 2 && this.#bytesSamples[1]!.at <= at - BANDWIDTH_WINDOW_MS) this.#bytesSamples.shift();
  }

  /** Playing viewers per protocol. */
  viewersPerProtocol(): Partial<Record<Protocol, number>> {
    return Object.fromEntries(this.#perProtocol);
  }

  /** Playing viewers per `app/channel`, per protocol. */
  viewersPerChannel(): Record<string, Partial<Record<Protocol, number>>> {
    return Object.fromEntries([...this.#perChannel].map(([channel, counts]) => [channel, Object.fromEntries(counts)]));
  }

  /** Whether the chain has a backend step (no backend health without one). */
  get hasBackend(): boolean {
    return this.#backend !== undefined;
  }

  get viewers(): number {
    return this.#playing.size;
  }

  /** Bytes sent per second between the oldest sample of the last minute and the newest, and the total at the newest. */
  bandwidth(): { bytesPerSec: number; windowSec: number; sentBytes: number } {
    const first = this.#bytesSamples[0];
    const last = this.#bytesSamples[this.#bytesSamples.length - 1];
    if (first === undefined || last === undefined || last.at <= first.at)
      return { bytesPerSec: 0, windowSec: 0, sentBytes: last?.bytes ?? 0 };
    const windowMs = last.at - first.at;
    return { bytesPerSec: Math.round(((last.bytes - first.bytes) * 1000) / windowMs), windowSec: windowMs / 1000, sentBytes: last.bytes };
  }

  /** Every minute of the last hour with a decision, oldest first. */
  decisionsPerMinute(): DecisionMinute[] {
    this.#dropOldMinutes(this.#clock.now());
    return this.#minutes.map((m) => ({ minute: m.minute, admitted: m.admitted, refused: { ...m.refused } }));
  }

  backendHealth(): BackendHealth {
    const sorted = [...this.#latenciesMs].sort((a, b) => a - b);
    const counters = this.#backend?.counters?.() ?? {};
    const hits = counters["hits"] ?? 0;
    const lookups = hits + (counters["misses"] ?? 0) + (counters["coalesced"] ?? 0);
    return {
      ...this.#calls,
      p50Ms: quantile(sorted, 0.5),
      p99Ms: quantile(sorted, 0.99),
      cacheHitRatio: lookups === 0 ? null : hits / lookups,
    };
  }

  close(): void {
    clearInterval(this.#timer);
    this.#detach();
  }

  #onPlaying(s: ViewerSession): void {
    if (this.#playing.has(s.id)) return;
    const entry = { channel: `${s.app}/${s.channel}`, protocol: s.protocol };
    this.#playing.set(s.id, entry);
    this.#add(entry, 1);
  }

  #onEnded(s: ViewerSession): void {
    this.#endedBytes += s.finalBytesOut ?? 0;
    const entry = this.#playing.get(s.id);
    if (entry === undefined) return;
    this.#playing.delete(s.id);
    this.#add(entry, -1);
  }

  #add({ channel, protocol }: { channel: string; protocol: Protocol }, delta: number): void {
    const total = (this.#perProtocol.get(protocol) ?? 0) + delta;
    if (total === 0) this.#perProtocol.delete(protocol);
    else this.#perProtocol.set(protocol, total);
    const counts = this.#perChannel.get(channel) ?? new Map<Protocol, number>();
    const n = (counts.get(protocol) ?? 0) + delta;
    if (n === 0) counts.delete(protocol);
    else counts.set(protocol, n);
    // A channel nobody watches is dropped, so the map holds at most the channels being played.
    if (counts.size === 0) this.#perChannel.delete(channel);
    else this.#perChannel.set(channel, counts);
  }

  #onDecision(d: Decision): void {
    // The server's own processes (its transcoder) are not viewers.
    if (d.step === "internal") return;
    const now = this.#clock.now();
    const minute = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    let last = this.#minutes[this.#minutes.length - 1];
    if (last === undefined || last.minute !== minute) {
      last = { minute, admitted: 0, refused: {} };
      this.#minutes.push(last);
      this.#dropOldMinutes(now);
    }
    if (d.verdict === "allow") last.admitted++;
    else last.refused[d.step] = (last.refused[d.step] ?? 0) + 1;
  }

  #dropOldMinutes(now: number): void {
    const oldest = Math.floor(now / MINUTE_MS) * MINUTE_MS - (DECISION_MINUTES - 1) * MINUTE_MS;
    while (this.#minutes.length > 0 && this.#minutes[0]!.minute < oldest) this.#minutes.shift();
  }

  #onCall(call: OutboundCall): void {
    this.#calls.calls++;
    const status = /^\d{3}$/.test(call.result) ? Number(call.result) : undefined;
    if (status === undefined || status >= 500) this.#calls.errors++;
    if (status === undefined && !ANSWERED_FAILURES.has(call.result)) this.#calls.unreachable++;
    const ms = call.seconds * 1000;
    if (this.#latenciesMs.length < LATENCY_SAMPLES) this.#latenciesMs.push(ms);
    else this.#latenciesMs[this.#latencyNext] = ms;
    this.#latencyNext = (this.#latencyNext + 1) % LATENCY_SAMPLES;
  }
}

/** The q-quantile of sorted values (nearest rank), null when there is none. */
function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return Math.round(sorted[rank]! * 1000) / 1000;
}
