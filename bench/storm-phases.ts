// Where a join-storm viewer's wait goes, per phase (VA_BENCH_STORM_PHASES=1 in flv-join-storm.bench.ts).
// The server side marks each viewer's connection, keyed by its client port, at: the HTTP request (or
// upgrade) event, the stream's `postPlay` entered (the plugin's hold, when attached) and the play
// released into NMS's own `postPlay` (its header and GOP cache written in that call). The clients
// report their connect time and first byte on the same clock (`performance.timeOrigin` + `now()`). Per
// storm it also reports the server's longest event-loop stall and its garbage collections, since a viewer
// whose connect waits in the accept backlog waits for exactly those.
import type { Server, IncomingMessage } from "node:http";
import { monitorEventLoopDelay, performance, PerformanceObserver, type PerformanceEntry } from "node:perf_hooks";
import type { BaseSession } from "../test/helpers/nms4-internals.js";

/** A viewer as the client process saw it: its local port and when it connected and got its first byte. */
export interface ClientTimes {
  port: number;
  connectAt: number;
  firstByteAt: number;
}

interface ServerMarks {
  requestAt?: number;
  enteredAt?: number;
  releasedAt?: number;
  writtenAt?: number;
}

/** The part of NMS's `BroadcastServer` marked here. */
interface Broadcast {
  postPlay: (session: BaseSession) => string | null;
}

/** Wall-clock milliseconds comparable between processes on one machine. */
export const wallMs = (): number => performance.timeOrigin + performance.now();

export class StormPhases {
  readonly #marks = new Map<number, ServerMarks>();
  readonly #loop = monitorEventLoopDelay({ resolution: 1 });
  #gcs: PerformanceEntry[] = [];
  readonly #gcObserver = new PerformanceObserver((list) => this.#gcs.push(...list.getEntries()));

  constructor() {
    this.#loop.enable();
    this.#gcObserver.observe({ entryTypes: ["gc"] });
  }

  close(): void {
    this.#loop.disable();
    this.#gcObserver.disconnect();
  }

  /** Marks every request and upgrade; call before the plugin attaches (its shield keeps the listener first). */
  watchServer(server: Server): void {
    const mark = (req: IncomingMessage) => this.#marks.set(req.socket.remotePort ?? 0, { requestAt: wallMs() });
    server.prependListener("request", mark);
    server.prependListener("upgrade", mark);
  }

  /** Marks the release into NMS's own postPlay: wraps it before the plugin does, so the plugin calls this. */
  watchRelease(broadcast: Broadcast): void {
    const inner = broadcast.postPlay;
    broadcast.postPlay = (session) => {
      const marks = this.#of(session);
      marks.releasedAt = wallMs();
      const refusal = inner(session);
      marks.writtenAt = wallMs();
      return refusal;
    };
  }

  /** Marks the play entering the stream's postPlay (the plugin's hold when attached); returns the undo. */
  watchEntry(broadcast: Broadcast): () => void {
    const outer = broadcast.postPlay;
    broadcast.postPlay = (session) => {
      this.#of(session).enteredAt = wallMs();
      return outer(session);
    };
    return () => {
      broadcast.postPlay = outer;
    };
  }

  clear(): void {
    this.#marks.clear();
    this.#loop.reset();
    this.#gcs = [];
  }

  /** p50/p99 in ms of each phase over the viewers both sides saw, as one report line's fields. */
  summary(clients: ClientTimes[]): Record<string, string> {
    const phases: Record<string, number[]> = { toRequest: [], toHook: [], hold: [], write: [], toClient: [] };
    for (const c of clients) {
      const m = this.#marks.get(c.port);
      if (m?.requestAt === undefined || m.enteredAt === undefined || m.releasedAt === undefined || m.writtenAt === undefined) continue;
      phases.toRequest!.push(m.requestAt - c.connectAt);
      phases.toHook!.push(m.enteredAt - m.requestAt);
      phases.hold!.push(m.releasedAt - m.enteredAt);
      phases.write!.push(m.writtenAt - m.releasedAt);
      phases.toClient!.push(c.firstByteAt - m.writtenAt);
    }
    const fields: Record<string, string> = { matched: `${phases.toRequest!.length}/${clients.length}` };
    for (const [name, values] of Object.entries(phases)) fields[name] = `${quantile(values, 0.5)}/${quantile(values, 0.99)}`;
    fields.loopStallMaxMs = String(Math.round(this.#loop.max / 1e5) / 10);
    // kind 4 is a major (mark-compact) collection; the others are scavenges and incremental steps.
    const major = this.#gcs.filter((gc) => (gc as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === 4);
    const ms = (entries: PerformanceEntry[]) => Math.round(entries.reduce((a, gc) => a + gc.duration, 0));
    fields.gc = `${this.#gcs.length}/${ms(this.#gcs)}ms major=${major.length}/${ms(major)}ms max=${Math.round(Math.max(0, ...this.#gcs.map((gc) => gc.duration)))}ms`;
    return fields;
  }

  #of(session: { ip: string }): ServerMarks {
    const port = Number(session.ip.slice(session.ip.lastIndexOf(":") + 1));
    let marks = this.#marks.get(port);
    if (marks === undefined) this.#marks.set(port, (marks = {}));
    return marks;
  }
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN) * 10) / 10;
}
