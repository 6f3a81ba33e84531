import { hostname } from "node:os";
import type { Clock } from "../core/clock.js";
import { guarded } from "../core/guarded.js";
import type { Logger } from "../core/log.js";
import { LogRateLimit } from "../core/log-rate-limit.js";
import type { SessionStore } from "../core/session-store.js";
import type { ViewerSession } from "../core/viewer-session.js";
import type { EventsConfig, WebhookConfig } from "./events-schema.js";
import { retryDelayMs } from "./retry-backoff.js";
import { publishEvent, sessionEndEvent, sessionStartEvent, testEvent, type PublishedStream, type WebhookEvent } from "./webhook-event.js";
import { WebhookOutbox, WEBHOOK_DROP_REASONS, type WebhookDropReason } from "./webhook-outbox.js";
import { WebhookSender } from "./webhook-sender.js";
import { signatureHeader, SIGNATURE_HEADER } from "./webhook-signature.js";

/** A webhook as `GET /api/webhooks` shows it (no secret). */
export interface WebhookStatus {
  name: string;
  url: string;
  events: readonly string[];
  pending: number;
  /** Seconds since the oldest undelivered event was created; null with nothing pending. */
  oldestPendingAgeSec: number | null;
  lastError: string | null;
  lastErrorAt: string | null;
  lastSuccessAt: string | null;
  /** Failed attempts in a row of the event at the head of its queue. */
  consecutiveFailures: number;
}

/** Running totals for `/metrics`. */
export interface WebhookCounters {
  pending: Record<string, number>;
  delivered: Record<string, number>;
  failed: Record<string, number>;
  dropped: Record<WebhookDropReason, number>;
}

/** What the events need from around them. */
export interface WebhookEventsDeps {
  sessions: SessionStore;
  clock: Clock;
  log: Logger;
  /** In [0, 1): the retry jitter (tests pass their own). */
  random?: () => number;
}

/** A failing receiver is logged once, then at most once per this interval. */
const FAILURE_LOG_INTERVAL_MS = 60_000;
/** Expired events are looked for at most this often while a webhook is idle. */
const EXPIRY_SWEEP_MS = 60_000;

/** One webhook's delivery state: its own queue order, its own retry timer; one receiver never blocks another. */
interface WebhookState {
  readonly config: WebhookConfig;
  running: boolean;
  timer: NodeJS.Timeout | undefined;
  failures: number;
  lastError: string | null;
  lastErrorAt: number | null;
  lastSuccessAt: number | null;
  delivered: number;
  failed: number;
  readonly failureLog: LogRateLimit;
}

/**
 * WebhookEvents turns session and publish events into signed webhook deliveries. An event is written to
 * the outbox (a synchronous local SQLite write, ~tens of µs) and only then handed to delivery, which
 * runs later, off the play path: a viewer's admission never waits for a receiver. Each webhook sends its
 * rows one at a time in order; a failed attempt (refused, non-2xx, over `timeoutMs`) is retried after a
 * capped, jittered exponential wait, and a row older than `outbox.maxAgeSec` is dropped and counted.
 */
export class WebhookEvents {
  readonly #config: EventsConfig;
  readonly #outbox: WebhookOutbox;
  readonly #deps: WebhookEventsDeps;
  readonly #node: string;
  readonly #sender = new WebhookSender();
  readonly #states: WebhookState[];
  readonly #dropped: Record<WebhookDropReason, number> = Object.fromEntries(WEBHOOK_DROP_REASONS.map((r) => [r, 0])) as Record<
    WebhookDropReason,
    number
  >;
  readonly #writeFailureLog: LogRateLimit;
  readonly #dropLog: LogRateLimit;
  #unsubscribe: (() => void)[] = [];
  #sweep: NodeJS.Timeout | undefined;
  #started = false;
  #closed = false;

  /** Keeps the settings and loads better-sqlite3 (a ConfigError naming `events.webhooks` when it is missing); opens nothing. */
  constructor(config: EventsConfig, outboxFile: string, deps: WebhookEventsDeps) {
    this.#config = config;
    this.#outbox = new WebhookOutbox(outboxFile, config.outbox.maxEvents);
    this.#deps = deps;
    this.#node = config.node ?? hostname();
    this.#writeFailureLog = new LogRateLimit(deps.clock, FAILURE_LOG_INTERVAL_MS);
    this.#dropLog = new LogRateLimit(deps.clock, FAILURE_LOG_INTERVAL_MS);
    this.#states = config.webhooks.map((hook) => ({
      config: hook,
      running: false,
      timer: undefined,
      failures: 0,
      lastError: null,
      lastErrorAt: null,
      lastSuccessAt: null,
      delivered: 0,
      failed: 0,
      failureLog: new LogRateLimit(deps.clock, FAILURE_LOG_INTERVAL_MS),
    }));
  }

  /** Opens the outbox, follows the session store, and sends what a previous run left undelivered. Once. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    const unconfigured = this.#outbox.open(this.#states.map((s) => s.config.name));
    this.#drop("unconfigured", unconfigured);
    const { sessions, log } = this.#deps;
    this.#unsubscribe = [
      sessions.subscribe(
        "playing",
        guarded(log, "webhook.listener_failed", (s: ViewerSession) => this.#emit(sessionStartEvent(s, this.#node, this.#deps.clock.now()))),
      ),
      sessions.subscribe(
        "ended",
        guarded(log, "webhook.listener_failed", (s: ViewerSession) => {
          // Only a session that started has an end: a refused viewer is no event.
          if (s.playingSince !== undefined) this.#emit(sessionEndEvent(s, this.#node, this.#deps.clock.now()));
        }),
      ),
    ];
    this.#sweep = setInterval(
      guarded(log, "webhook.sweep_failed", () => this.#expire()),
      EXPIRY_SWEEP_MS,
    );
    this.#sweep.unref();
    this.#expire();
    for (const state of this.#states) this.#kick(state);
  }

  /** A publisher started (the host accepted it). */
  publishStarted(stream: PublishedStream): void {
    this.#emit(publishEvent("publish.start", stream, this.#node, this.#deps.clock.now()));
  }

  /** A publisher that started stopped. */
  publishEnded(stream: PublishedStream): void {
    this.#emit(publishEvent("publish.end", stream, this.#node, this.#deps.clock.now()));
  }

  /**
   * Queues a `test` event for the webhook named `name` (every webhook when undefined), through the
   * outbox like any event. Returns the event's id and the webhooks it went to; undefined for an unknown name.
   */
  sendTest(name?: string): { id: string; webhooks: string[] } | undefined {
    const targets = this.#states.filter((s) => name === undefined || s.config.name === name);
    if (targets.length === 0) return undefined;
    const event = testEvent(this.#node, this.#deps.clock.now());
    this.#write(event, targets);
    return { id: event.id, webhooks: targets.map((s) => s.config.name) };
  }

  /** The webhooks and their delivery state. */
  status(): WebhookStatus[] {
    const now = this.#deps.clock.now();
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return this.#states.map((state) => {
      const oldest = this.#outbox.isOpen ? this.#outbox.oldestAt(state.config.name) : undefined;
      return {
        name: state.config.name,
        url: safeUrl(state.config.url),
        events: state.config.events,
        pending: this.#outbox.pending(state.config.name),
        oldestPendingAgeSec: oldest === undefined ? null : Math.max(0, Math.round((now - oldest) / 1000)),
        lastError: state.lastError,
        lastErrorAt: iso(state.lastErrorAt),
        lastSuccessAt: iso(state.lastSuccessAt),
        consecutiveFailures: state.failures,
      };
    });
  }

  counters(): WebhookCounters {
    const byName = (value: (s: WebhookState) => number) => Object.fromEntries(this.#states.map((s) => [s.config.name, value(s)]));
    return {
      pending: byName((s) => this.#outbox.pending(s.config.name)),
      delivered: byName((s) => s.delivered),
      failed: byName((s) => s.failed),
      dropped: { ...this.#dropped },
    };
  }

  /** Stops delivering (attempts in flight are aborted: they go out again at the next start) and closes the outbox. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    clearInterval(this.#sweep);
    for (const state of this.#states) clearTimeout(state.timer);
    await this.#sender.close();
    this.#outbox.close();
  }

  /** Writes the event for every webhook that asked for its type. */
  #emit(event: WebhookEvent): void {
    const targets = this.#states.filter((s) => (s.config.events as readonly string[]).includes(event.type));
    if (targets.length > 0) this.#write(event, targets);
  }

  /** The synchronous durable write, then delivery scheduled for later. Never throws: a refused write is counted. */
  #write(event: WebhookEvent, targets: WebhookState[]): void {
    if (!this.#outbox.isOpen) return;
    try {
      this.#drop(
        "overflow",
        this.#outbox.add(
          targets.map((s) => s.config.name),
          event,
          JSON.stringify(event),
          this.#deps.clock.now(),
        ),
      );
    } catch (error) {
      this.#drop("write-failed", targets.length);
      const count = this.#writeFailureLog.hit();
      if (count > 0)
        this.#deps.log.error(
          { event: "webhook.write_failed", failures: count, err: error },
          "the webhook outbox refused an event; dropped",
        );
      return;
    }
    for (const state of targets) this.#kick(state);
  }

  /** Starts a webhook's delivery loop on a later turn, unless it runs or waits for a retry. */
  #kick(state: WebhookState): void {
    if (state.running || state.timer !== undefined || this.#closed) return;
    state.running = true;
    setImmediate(() => void this.#deliver(state));
  }

  /** Sends the webhook's rows in order until none is left or one fails (then a retry is scheduled). */
  async #deliver(state: WebhookState): Promise<void> {
    const { clock } = this.#deps;
    const name = state.config.name;
    try {
      while (!this.#closed) {
        this.#expire();
        const row = this.#outbox.head(name);
        if (row === undefined) return;
        const unixSec = Math.floor(clock.now() / 1000);
        const result = await this.#sender.send(
          state.config.url,
          row.body,
          {
            [SIGNATURE_HEADER]: signatureHeader(state.config.secret, row.body, unixSec),
            "VA-Event-Id": row.eventId,
            "VA-Event-Type": row.type,
            "VA-Delivery-Attempt": String(row.attempts + 1),
          },
          state.config.timeoutMs,
        );
        if (this.#closed) return;
        if (result.ok) {
          this.#outbox.delivered(name, row.seq);
          state.delivered++;
          state.failures = 0;
          state.lastSuccessAt = clock.now();
          continue;
        }
        this.#outbox.failed(row.seq);
        state.failed++;
        state.failures++;
        state.lastError = result.error;
        state.lastErrorAt = clock.now();
        const delayMs = retryDelayMs(state.failures, this.#config.retry, this.#deps.random);
        const count = state.failureLog.hit();
        if (count > 0)
          this.#deps.log.warn(
            {
              event: "webhook.failed",
              webhook: name,
              error: result.error,
              failures: count,
              retryInMs: delayMs,
              pending: this.#outbox.pending(name),
            },
            "a webhook delivery failed; it will be retried",
          );
        state.timer = setTimeout(() => {
          state.timer = undefined;
          this.#kick(state);
        }, delayMs);
        state.timer.unref();
        return;
      }
    } catch (error) {
      this.#deps.log.error(
        { event: "webhook.deliver_failed", webhook: name, err: error },
        "webhook delivery stopped on an error; retried later",
      );
      state.timer ??= setTimeout(() => {
        state.timer = undefined;
        this.#kick(state);
      }, this.#config.retry.maxMs).unref();
    } finally {
      state.running = false;
    }
  }

  /** Drops rows older than `outbox.maxAgeSec`. */
  #expire(): void {
    if (!this.#outbox.isOpen) return;
    this.#drop("expired", this.#outbox.expire(this.#deps.clock.now() - this.#config.outbox.maxAgeSec * 1000));
  }

  #drop(reason: WebhookDropReason, count: number): void {
    if (count <= 0) return;
    this.#dropped[reason] += count;
    // Counted always (va_webhook_dropped_total); logged at most once a minute, with the totals.
    if (this.#dropLog.hit() > 0)
      this.#deps.log.warn(
        { event: "webhook.dropped", reason, count, dropped: { ...this.#dropped } },
        "webhook deliveries dropped undelivered",
      );
  }
}

/** A URL without credentials or query, for the API. */
function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return "<invalid url>";
  }
}
