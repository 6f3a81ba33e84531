import { connect, type Socket } from "node:net";
import { performance } from "node:perf_hooks";

/** One answer read off the wire: status, body length, and the body itself when it was asked for. */
export interface RawResponse {
  status: number;
  bytes: number;
  /** The body (playlists); empty when the caller only counts bytes (segments). */
  body: Buffer;
  /** Request written → last body byte read, ms. */
  ms: number;
}

/**
 * A keep-alive HTTP/1.1 connection that sends one GET at a time, as a player does, over a raw socket: no
 * client library between the load and the wire, so thousands of them cost the generator little. Answers
 * must carry Content-Length (ours and nginx's static files do); anything else is an error for the caller.
 */
export class RawHttpConnection {
  readonly #socket: Socket;
  #pending:
    | { keepBody: boolean; resolve: (r: RawResponse) => void; reject: (e: Error) => void; startedAt: number; timer: NodeJS.Timeout }
    | undefined;
  #head: Buffer = Buffer.alloc(0);
  #status = 0;
  #remaining = -1;
  #bytes = 0;
  #chunks: Buffer[] = [];
  #closeAfter = false;
  #closed = false;
  #connected: Promise<void>;

  constructor(port: number, host = "127.0.0.1") {
    this.#socket = connect({ port, host, noDelay: true });
    this.#connected = new Promise((resolve, reject) => {
      this.#socket.once("connect", resolve);
      this.#socket.once("error", reject);
    });
    this.#connected.catch(() => undefined);
    this.#socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    this.#socket.on("error", (error) => this.#fail(error));
    this.#socket.on("close", () => {
      this.#closed = true;
      this.#fail(new Error("connection closed"));
    });
  }

  /** False once the socket closed or the server asked to close it: open a new one. */
  get usable(): boolean {
    return !this.#closed && !this.#closeAfter;
  }

  /** GETs `path`; rejects on a socket error, a close before the whole answer, or `timeoutMs` without one. */
  async get(path: string, keepBody: boolean, timeoutMs: number, headers = ""): Promise<RawResponse> {
    await this.#connected;
    if (this.#pending !== undefined) throw new Error("one request at a time");
    return new Promise<RawResponse>((resolve, reject) => {
      const timer = setTimeout(() => this.#fail(new Error(`no complete answer within ${timeoutMs} ms`)), timeoutMs);
      this.#pending = { keepBody, resolve, reject, startedAt: performance.now(), timer };
      this.#socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: soak-player/1\r\n${headers}\r\n`);
    });
  }

  close(): void {
    this.#closed = true;
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    let data = chunk;
    while (data.length > 0 && this.#pending !== undefined) {
      if (this.#remaining < 0) {
        this.#head = this.#head.length === 0 ? data : Buffer.concat([this.#head, data]);
        const end = this.#head.indexOf("\r\n\r\n");
        if (end < 0) {
          if (this.#head.length > 16384) this.#fail(new Error("response head too large"));
          return;
        }
        const head = this.#head.subarray(0, end).toString("latin1");
        data = this.#head.subarray(end + 4);
        this.#head = Buffer.alloc(0);
        this.#status = Number(head.slice(9, 12));
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        if (length === null) return this.#fail(new Error(`status ${this.#status} without Content-Length`));
        this.#remaining = Number(length[1]);
        this.#closeAfter = /\r\nconnection:\s*close/i.test(head);
        this.#bytes = 0;
        this.#chunks = [];
      }
      const take = Math.min(this.#remaining, data.length);
      if (take > 0) {
        if (this.#pending.keepBody) this.#chunks.push(data.subarray(0, take));
        this.#bytes += take;
        this.#remaining -= take;
        data = data.subarray(take);
      }
      if (this.#remaining === 0) this.#finish();
    }
    if (data.length > 0) this.#fail(new Error("bytes after the answer"));
  }

  #finish(): void {
    const pending = this.#pending!;
    this.#pending = undefined;
    this.#remaining = -1;
    clearTimeout(pending.timer);
    pending.resolve({
      status: this.#status,
      bytes: this.#bytes,
      body: pending.keepBody ? Buffer.concat(this.#chunks) : Buffer.alloc(0),
      ms: performance.now() - pending.startedAt,
    });
  }

  #fail(error: Error): void {
    const pending = this.#pending;
    if (pending !== undefined) {
      this.#pending = undefined;
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    if (!this.#closed) this.close();
  }
}
