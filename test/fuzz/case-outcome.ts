/** Ways one case's answers can break the rules; the run adds its own kinds (crash, liveness, …). */
export const CASE_VIOLATION_KINDS = ["5xx", "not-refused", "media-leak", "no-answer"] as const;
export type CaseViolationKind = (typeof CASE_VIOLATION_KINDS)[number];

/** One broken rule, with enough detail to recognize it in the summary. */
export interface CaseViolation {
  kind: CaseViolationKind;
  detail: string;
}

/** Status recorded when the server closed the connection without any HTTP answer. */
export const CLOSED_WITHOUT_ANSWER = 0;
/** Status recorded when the server neither answered nor closed before the case stopped waiting. */
export const NO_ANSWER_YET = -1;

/**
 * CaseOutcome collects what the server did with one case and judges it against the fuzzer's rules:
 * a hostile request gets a 4xx or a closed connection (never a 5xx, never a 2xx/3xx unless the case
 * allows that status), and a client without valid credentials receives 0 media bytes.
 */
export class CaseOutcome {
  /** Every HTTP status seen (101 for an accepted upgrade, 0 closed, -1 no answer yet), in order. */
  readonly statuses: number[] = [];
  /** Audio/video payload bytes the case's clients received. */
  mediaBytes = 0;
  readonly violations: CaseViolation[] = [];
  /** Harness-side remarks (a client error, what the server closed with) for `--case` replays. */
  readonly notes: string[] = [];
  readonly #authorized: boolean;

  constructor(authorized: boolean) {
    this.#authorized = authorized;
  }

  /**
   * Records an HTTP answer to the case's request `what`. `accept` lists non-4xx statuses this request
   * may legitimately get (a CORS preflight's 204, a WebSocket's 101 that is judged by what follows).
   */
  answer(status: number, what: string, accept: readonly number[] = []): void {
    this.statuses.push(status);
    if (status >= 500) return this.#violate("5xx", `${what} → ${status}`);
    if (this.#authorized || accept.includes(status)) return;
    const refused = (status >= 400 && status < 500) || status === CLOSED_WITHOUT_ANSWER || status === NO_ANSWER_YET;
    if (!refused) this.#violate("not-refused", `${what} → ${status}`);
  }

  /**
   * Records a complete request that got neither an answer nor a close within the case's wait: a
   * violation for a hostile client (it holds a connection for nothing), a note for an authorized one
   * (NMS never answers an allowed HEAD of a `.flv`, for one).
   */
  noAnswer(what: string, waitedMs: number): void {
    const text = `${what}: no answer and no close within ${waitedMs} ms`;
    if (this.#authorized) this.note(text);
    else this.#violate("no-answer", text);
  }

  /** Records media bytes a client of this case received (`where`: which connection). */
  media(bytes: number, where: string): void {
    if (bytes <= 0) return;
    this.mediaBytes += bytes;
    if (!this.#authorized) this.#violate("media-leak", `${where} received ${bytes} media bytes without valid credentials`);
  }

  note(text: string): void {
    if (this.notes.length < 50) this.notes.push(text.length > 300 ? `${text.slice(0, 300)}…` : text);
  }

  #violate(kind: CaseViolationKind, detail: string): void {
    this.violations.push({ kind, detail: detail.length > 300 ? `${detail.slice(0, 300)}…` : detail });
  }
}
