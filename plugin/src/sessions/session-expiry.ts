import type { Clock } from "../core/clock.js";
import { guarded } from "../core/guarded.js";
import type { Logger } from "../core/log.js";
import type { SessionStore } from "../core/session-store.js";
import type { ViewerSession } from "../core/viewer-session.js";

/** How often the due deadlines are looked at, ms: a session is cut at most this long after its credential ends. */
export const EXPIRY_TICK_MS = 250;

/** One deadline in the heap: the session and the end it was filed under. */
interface Deadline {
  readonly atMs: number;
  readonly session: ViewerSession;
}

/**
 * SessionExpiry closes every playing session whose credential ended (`ViewerSession.validUntilMs`: a
 * signed link's end, a user's `expires`, a token's `exp`) as `expired`. One binary heap of deadlines and
 * one interval timer for all sessions, not a timer per session: a tick with nothing due costs one look at
 * the heap's top, filing a session costs O(log n). Time is the injected clock's.
 *
 * A re-check through the chain that renews the credential moves `validUntilMs` (the store's `renew`):
 * a popped deadline earlier than the session's current end is filed again under the new end, so a
 * renewal needs no notice; `track` files a session again when its end moved earlier. An ended
 * session's deadline stays in the heap until it pops or the heap is compacted (when stale entries
 * outnumber live ones), so the heap never holds more than about twice the live sessions.
 */
export class SessionExpiry {
  readonly #registry: SessionStore;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #heap: Deadline[] = [];
  /** Session id → the deadline it is filed under now (the heap's other entries for it are stale). */
  readonly #filed = new Map<string, number>();
  readonly #unsubscribe: (() => void)[];
  #timer: NodeJS.Timeout | undefined;

  constructor(registry: SessionStore, clock: Clock, log: Logger) {
    this.#registry = registry;
    this.#clock = clock;
    this.#log = log;
    this.#unsubscribe = [
      registry.subscribe("playing", (session) => this.track(session)),
      registry.subscribe("ended", (session) => this.#filed.delete(session.id)),
    ];
  }

  /** Starts the tick (the composition root's `start`). */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(
      guarded(this.#log, "session.expiry_failed", () => this.sweep()),
      EXPIRY_TICK_MS,
    );
    this.#timer.unref();
  }

  /** Files a playing session under its credential's end (again, after a re-check moved it); no end: unfiled. */
  track(session: ViewerSession): void {
    const atMs = session.validUntilMs;
    if (session.state !== "playing" || atMs === undefined) {
      this.#filed.delete(session.id);
      return;
    }
    if (this.#filed.get(session.id) === atMs) return;
    this.#filed.set(session.id, atMs);
    this.#push({ atMs, session });
    if (this.#heap.length > 2 * this.#filed.size + 1024) this.#compact();
  }

  /** Closes every session whose credential ended by now; returns how many. The tick calls it. */
  sweep(): number {
    const now = this.#clock.now();
    let closed = 0;
    while (this.#heap.length > 0 && this.#heap[0]!.atMs <= now) {
      const { atMs, session } = this.#pop();
      if (this.#filed.get(session.id) !== atMs) continue; // stale: ended, or filed again under another end
      this.#filed.delete(session.id);
      const until = session.validUntilMs;
      if (session.state !== "playing" || until === undefined) continue;
      if (until > now) {
        this.track(session); // a re-check renewed it
        continue;
      }
      this.#log.info(
        { event: "session.expired", sessionId: session.id, validUntil: new Date(until).toISOString() },
        "the session's credential ended; closing",
      );
      this.#registry.close(session, "expired");
      closed++;
    }
    return closed;
  }

  /** Whether the session's credential has ended by now. */
  hasEnded(session: ViewerSession): boolean {
    return session.validUntilMs !== undefined && session.validUntilMs <= this.#clock.now();
  }

  /** Sessions filed under a deadline now. */
  get size(): number {
    return this.#filed.size;
  }

  /** Stops the tick and forgets every deadline. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const off of this.#unsubscribe) off();
    this.#heap.length = 0;
    this.#filed.clear();
  }

  #compact(): void {
    const live = this.#heap.filter((d) => this.#filed.get(d.session.id) === d.atMs);
    this.#heap.length = 0;
    for (const d of live) this.#push(d);
  }

  #push(deadline: Deadline): void {
    const heap = this.#heap;
    heap.push(deadline);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.atMs <= deadline.atMs) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = deadline;
  }

  #pop(): Deadline {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.atMs < heap[left]!.atMs ? right : left;
      if (heap[child]!.atMs >= last.atMs) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}
