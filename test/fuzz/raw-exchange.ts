import { connect } from "node:net";
import { sleep } from "../helpers/sleep.js";

/** One step of a raw conversation: bytes to write (strings are sent as latin1, byte for byte), or a pause. */
export type RawStep = Buffer | string | { readonly pauseMs: number };

/** When a raw exchange stops waiting for the server. */
export interface RawExchangeOptions {
  /** Longest wait for the server after the last step, ms. */
  readMs: number;
  /** Stops waiting early when this says the answer is complete. */
  done?: (received: Buffer, closedByServer: boolean) => boolean;
  /** Stops reading after this many bytes (a stream that never ends must not fill the fuzzer). */
  maxBytes?: number;
  /** Called with the socket's bytes as they arrive, for clients that answer (WebSocket pings). */
  onData?: (chunk: Buffer, write: (bytes: Buffer) => void) => void;
}

/** What one raw TCP conversation with the server gave. */
export interface RawExchange {
  received: Buffer;
  /** The server ended or reset the connection (rather than the fuzzer giving up). */
  closedByServer: boolean;
  /** The connection could not even be opened (the server is gone). */
  connectFailed: boolean;
  error?: string;
}

const DEFAULT_MAX_BYTES = 1024 * 1024;

/**
 * Opens a TCP connection to a loopback port, plays the steps (writes and pauses), and collects what
 * the server sends until it closes, `done` says so, `maxBytes` is reached or `readMs` passes after
 * the last step. Never throws: a refused or reset connection is part of the result.
 */
export function rawExchange(port: number, steps: readonly RawStep[], options: RawExchangeOptions): Promise<RawExchange> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let size = 0;
    let connected = false;
    let closedByServer = false;
    let finished = false;
    let error: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    const received = () => Buffer.concat(chunks);
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ received: received(), closedByServer, connectFailed: !connected, ...(error === undefined ? {} : { error }) });
    };
    const check = () => {
      if (size >= (options.maxBytes ?? DEFAULT_MAX_BYTES)) return finish();
      if (options.done?.(received(), closedByServer)) finish();
    };
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      options.onData?.(chunk, (bytes) => void (socket.writable && socket.write(bytes)));
      check();
    });
    socket.on("end", () => {
      closedByServer = true;
      check();
      finish();
    });
    socket.on("error", (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message;
      if (connected) closedByServer = true;
      finish();
    });
    socket.on("close", () => {
      if (connected && !finished) closedByServer = true;
      finish();
    });
    socket.once("connect", () => {
      connected = true;
      void play();
    });

    async function play(): Promise<void> {
      for (const step of steps) {
        if (finished) return;
        if (typeof step === "object" && !Buffer.isBuffer(step)) {
          await sleep(step.pauseMs);
          continue;
        }
        if (!socket.writable) break;
        const flushed = socket.write(typeof step === "string" ? Buffer.from(step, "latin1") : step);
        // Let a large body drain before the next step, but never wait on a server that stopped reading.
        if (!flushed) await Promise.race([new Promise((r) => socket.once("drain", r)), sleep(options.readMs)]);
      }
      if (finished) return;
      timer = setTimeout(finish, options.readMs);
      check();
    }
  });
}
