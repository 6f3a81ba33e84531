import http from "node:http";
import type { AddressInfo } from "node:net";
import { verifySignature } from "../../plugin/src/events/webhook-signature.js";

/** One delivery as the receiver saw it. */
export interface ReceivedDelivery {
  readonly id: string;
  readonly type: string;
  readonly body: Record<string, unknown>;
  readonly signatureValid: boolean;
  readonly attempt: number;
}

/** How the receiver answers the next request: a status, or never (`hang`). */
export type ReceiverMode = { status: number } | "hang";

/**
 * An HTTP receiver of webhooks on 127.0.0.1: records every request, checks its `VA-Signature` with the
 * secret, and keeps each event once (by id) in arrival order. `answer` decides each request's answer;
 * `close` and `listen` take it down and bring it back on the same port.
 */
export class WebhookReceiver {
  readonly requests: ReceivedDelivery[] = [];
  readonly #seen = new Set<string>();
  readonly events: ReceivedDelivery[] = [];
  answer: (request: number) => ReceiverMode = () => ({ status: 204 });
  #server: http.Server | undefined;
  #port = 0;
  readonly #hanging = new Set<http.ServerResponse>();

  constructor(readonly secret: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.#port}/hook`;
  }

  get port(): number {
    return this.#port;
  }

  async listen(port = this.#port): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const body = JSON.parse(text) as Record<string, unknown>;
        const signature = String(req.headers["va-signature"] ?? "");
        const delivery: ReceivedDelivery = {
          id: String(body.id),
          type: String(body.type),
          body,
          signatureValid: verifySignature(this.secret, text, signature, Math.floor(Date.now() / 1000)),
          attempt: Number(req.headers["va-delivery-attempt"]),
        };
        this.requests.push(delivery);
        const mode = this.answer(this.requests.length);
        if (mode === "hang") {
          this.#hanging.add(res);
          return;
        }
        if (mode.status >= 200 && mode.status < 300 && delivery.signatureValid && !this.#seen.has(delivery.id)) {
          this.#seen.add(delivery.id);
          this.events.push(delivery);
        }
        res.writeHead(mode.status).end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const res of this.#hanging) res.destroy();
    this.#hanging.clear();
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The kept events of one type. */
  ofType(type: string): ReceivedDelivery[] {
    return this.events.filter((e) => e.type === type);
  }
}
