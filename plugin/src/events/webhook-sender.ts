import { Agent, request } from "undici";

/** How one attempt ended: a 2xx, or why not (a short text for the API and the log, no secret). */
export type SendResult = { ok: true; status: number } | { ok: false; error: string };

/**
 * WebhookSender POSTs deliveries with undici on its own keep-alive Agent. An attempt is bounded by
 * `timeoutMs` from the start to the end of the answer, whatever the receiver does (refuses, hangs,
 * trickles): the call races its own deadline, as an aborted request can settle late.
 */
export class WebhookSender {
  readonly #agent = new Agent({ keepAliveTimeout: 10_000, connections: 4 });
  readonly #inFlight = new Set<AbortController>();
  #closed = false;

  async send(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<SendResult> {
    if (this.#closed) return { ok: false, error: "closed" };
    const controller = new AbortController();
    this.#inFlight.add(controller);
    let expire!: () => void;
    const deadline = new Promise<SendResult>((resolve) => (expire = () => resolve({ ok: false, error: `timeout after ${timeoutMs} ms` })));
    const timer = setTimeout(() => {
      controller.abort();
      expire();
    }, timeoutMs);
    const call = (async (): Promise<SendResult> => {
      const response = await request(url, {
        dispatcher: this.#agent,
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
        signal: controller.signal,
      });
      await response.body.dump({ limit: 65_536 }).catch(() => undefined); // the answer's body means nothing
      const status = response.statusCode;
      return status >= 200 && status < 300 ? { ok: true, status } : { ok: false, error: `HTTP ${status}` };
    })().catch((error: unknown): SendResult => ({ ok: false, error: errorText(error, controller.signal.aborted, timeoutMs) }));
    try {
      return await Promise.race([call, deadline]);
    } finally {
      clearTimeout(timer);
      this.#inFlight.delete(controller);
    }
  }

  /** Aborts attempts in flight and closes the connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const controller of this.#inFlight) controller.abort();
    await this.#agent.destroy().catch(() => undefined);
  }
}

function errorText(error: unknown, aborted: boolean, timeoutMs: number): string {
  if (aborted) return `timeout after ${timeoutMs} ms`;
  const { code, message } = error as { code?: unknown; message?: unknown };
  const cause = (error as { cause?: { code?: unknown } }).cause?.code;
  if (typeof cause === "string") return cause;
  if (typeof code === "string") return code;
  return typeof message === "string" ? message.slice(0, 200) : "failed";
}
