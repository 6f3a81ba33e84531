import http from "node:http";
import type { ProbeTarget } from "./liveness-probe.js";

/**
 * ChannelWatcher is an authorized HTTP-FLV viewer that stays on the channel for the whole run and
 * looks for the injection marker in everything it receives: a hostile client that gets its own media
 * into the channel (a player pushing audio/video messages, an unsigned publisher) shows up here. It
 * reconnects whenever its stream ends and counts those interruptions.
 */
export class ChannelWatcher {
  #target: ProbeTarget;
  readonly #marker: Buffer;
  #request: http.ClientRequest | undefined;
  #carry = Buffer.alloc(0);
  #stopped = false;
  #retry: NodeJS.Timeout | undefined;
  #generation = 0;
  /** Bytes received over all connections. */
  bytes = 0;
  /** Times the marker was seen in the channel. */
  markerHits = 0;
  /** Times a stream that was playing ended or failed and the watcher had to reconnect. */
  interruptions = 0;
  #bytesThisConnection = 0;

  constructor(target: ProbeTarget, marker: Buffer) {
    this.#target = target;
    this.#marker = marker;
  }

  start(): void {
    this.#stopped = false;
    this.#open();
  }

  /** Points the watcher at a restarted server (new ports, new token). */
  retarget(target: ProbeTarget): void {
    this.#target = target;
    this.#request?.destroy();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retry);
    this.#request?.destroy();
  }

  #open(): void {
    const t = this.#target;
    const generation = ++this.#generation;
    this.#bytesThisConnection = 0;
    // Only the current connection's end counts: a destroyed one may still report end and error.
    const reopen = () => generation === this.#generation && this.#reopen();
    const req = http.get(
      { host: "127.0.0.1", port: t.httpPort, path: `/${t.app}/${t.channel}.flv?token=${t.token}`, agent: false },
      (res) => {
        res.on("data", (chunk: Buffer) => this.#scan(chunk));
        res.on("end", reopen);
        res.on("error", reopen);
      },
    );
    req.on("error", reopen);
    this.#request = req;
  }

  #reopen(): void {
    if (this.#stopped) return;
    this.#generation++;
    if (this.#bytesThisConnection > 0) this.interruptions++;
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => this.#open(), 500);
  }

  #scan(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.#bytesThisConnection += chunk.length;
    // Keep the tail of the previous chunk so a marker split across two chunks is still found.
    const window = Buffer.concat([this.#carry, chunk]);
    let from = 0;
    for (;;) {
      const at = window.indexOf(this.#marker, from);
      if (at === -1) break;
      this.markerHits++;
      from = at + this.#marker.length;
    }
    this.#carry = window.subarray(Math.max(from, window.length - this.#marker.length + 1));
  }
}
