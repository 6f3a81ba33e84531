import type { ViewerSession } from "../core/viewer-session.js";
import type { WebhookEventType } from "./events-schema.js";
import { uuidV7 } from "./event-id.js";

/** A stream with a publisher, as the events carry it. */
export interface PublishedStream {
  /** Unique per publish (its start and end carry the same). */
  readonly publishId: string;
  readonly app: string;
  readonly name: string;
  /** The publisher's address; "" when unknown. */
  readonly ip: string;
  readonly protocol: string;
}

/** One event as it is sent: the JSON body of a delivery. */
export interface WebhookEvent {
  readonly id: string;
  readonly type: WebhookEventType | "test";
  /** When it happened (ISO 8601). */
  readonly time: string;
  readonly node: string;
  readonly [field: string]: unknown;
}

/** `session.start`: a viewer was admitted (its media starts). */
export function sessionStartEvent(session: ViewerSession, node: string, nowMs: number): WebhookEvent {
  return { ...header("session.start", node, nowMs), session: sessionFields(session) };
}

/** `session.end`: a session that had started ended. */
export function sessionEndEvent(session: ViewerSession, node: string, nowMs: number): WebhookEvent {
  const endedAt = session.endedAt ?? nowMs;
  return {
    ...header("session.end", node, nowMs),
    session: {
      ...sessionFields(session),
      reason: session.endReason ?? null,
      durationMs: Math.max(0, endedAt - (session.playingSince ?? session.startedAt)),
      bytesOut: session.finalBytesOut ?? session.transport.bytesOut(),
    },
  };
}

/** `publish.start` / `publish.end`. */
export function publishEvent(type: "publish.start" | "publish.end", stream: PublishedStream, node: string, nowMs: number): WebhookEvent {
  return {
    ...header(type, node, nowMs),
    publish: { id: stream.publishId, stream: `${stream.app}/${stream.name}`, app: stream.app, name: stream.name },
    publisher: { ip: stream.ip, protocol: stream.protocol },
  };
}

/** `test`: what `POST /api/webhooks/test` sends. */
export function testEvent(node: string, nowMs: number): WebhookEvent {
  return header("test", node, nowMs);
}

function header(type: WebhookEvent["type"], node: string, nowMs: number): WebhookEvent {
  return { id: uuidV7(nowMs), type, time: new Date(nowMs).toISOString(), node };
}

function sessionFields(session: ViewerSession): Record<string, unknown> {
  return {
    id: session.id,
    protocol: session.protocol,
    app: session.app,
    channel: session.channel,
    user: session.identity === undefined ? null : { id: session.identity.userId ?? null, name: session.identity.name ?? null },
    ip: session.ip,
    userAgent: session.userAgent,
    startedAt: new Date(session.startedAt).toISOString(),
  };
}
