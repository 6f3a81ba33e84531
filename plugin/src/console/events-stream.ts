import type { IncomingMessage, ServerResponse } from "node:http";
import type { Clock } from "../core/clock.js";
import type { SessionEvent, SessionStore } from "../core/session-store.js";
import { snapshotOf } from "../core/viewer-session.js";

/** How often the byte counters of live sessions are sent (only those that changed). */
const BYTES_INTERVAL_MS = 2_000;
/** A comment line keeps idle proxies from closing the stream. */
const HEARTBEAT_MS = 15_000;
/**
 * The fields of a session in the `snapshot` event, sent once as names and then as one array per session:
 * with 10,000 sessions the repeated key names would be half of the message.
 */
const SNAPSHOT_FIELDS = [
  "id",
  "protocol",
  "app",
  "channel",
  "ip",
  "userAgent",
  "state",
  "name",
  "userId",
  "startedAt",
  "playingSince",
  "bytesOut",
] as const;

/** A client that has this much unsent data is too slow: its stream is ended (it reconnects and gets a fresh snapshot). */
const MAX_BACKLOG_BYTES = 16 * 1024 * 1024;

/**
 * `/api/events`: a Server-Sent Events stream of the live sessions for the console's Live page. It opens
 * with one `snapshot` (every live session, as `{at, fields, rows}`: one array of SNAPSHOT_FIELDS per
 * session, null for a field not set), then sends each change as it happens — `opened`, `playing`
 * (full session) and `ended` (id and reason) — and every 2 s one `bytes` event with `[id, bytesOut]` of
 * the sessions whose counter moved. So the page never fetches the whole list again.
 */
export function streamSessionEvents(
  req: IncomingMessage,
  res: ServerResponse,
  registry: SessionStore,
  clock: Clock,
  headers: Record<string, string>,
): void {
  res.writeHead(200, {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-store",
    "X-Accel-Buffering": "no",
    ...headers,
  });
  const lastBytes = new Map<string, number>();
  const send = (event: string, data: unknown) => {
    if (res.destroyed) return;
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    if (res.writableLength > MAX_BACKLOG_BYTES) res.destroy();
  };
  res.write("retry: 3000\n\n");
  const now = clock.now();
  const rows = registry.list().map((session) => {
    const s = snapshotOf(session, now);
    lastBytes.set(s.id, s.bytesOut);
    return SNAPSHOT_FIELDS.map((field) => s[field] ?? null);
  });
  send("snapshot", { at: now, fields: SNAPSHOT_FIELDS, rows });

  const unsubscribe = (["opened", "playing", "ended"] as const satisfies readonly SessionEvent[]).map((event) =>
    registry.subscribe(event, (session) => {
      if (event === "ended") {
        lastBytes.delete(session.id);
        return send("ended", { id: session.id, reason: session.endReason });
      }
      const snapshot = snapshotOf(session, clock.now());
      lastBytes.set(session.id, snapshot.bytesOut);
      send(event, snapshot);
    }),
  );
  const bytesTimer = setInterval(() => {
    const changed: [string, number][] = [];
    for (const session of registry.list()) {
      const bytes = session.finalBytesOut ?? session.transport.bytesOut();
      if (lastBytes.get(session.id) === bytes) continue;
      lastBytes.set(session.id, bytes);
      changed.push([session.id, bytes]);
    }
    if (changed.length > 0) send("bytes", { at: clock.now(), sessions: changed });
  }, BYTES_INTERVAL_MS);
  const heartbeat = setInterval(() => res.destroyed || res.write(": alive\n\n"), HEARTBEAT_MS);
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearInterval(bytesTimer);
    clearInterval(heartbeat);
    for (const off of unsubscribe) off();
  };
  req.socket.once("close", stop);
  res.once("close", stop);
}
