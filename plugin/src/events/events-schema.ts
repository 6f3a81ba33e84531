import { z } from "zod";
import { millisecondsSchema, secondsSchema } from "../config/value-schemas.js";

/** The event types a webhook may ask for (`test` is sent only on request, to every webhook). */
export const WEBHOOK_EVENT_TYPES = ["session.start", "session.end", "publish.start", "publish.end"] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** One receiver of events. */
const webhookSchema = z.strictObject({
  /** Names the webhook in the API, the metrics and the outbox; default: the URL's host and path. */
  name: z
    .string()
    .regex(/^[A-Za-z0-9._:/-]{1,128}$/, "must be 1..128 letters, digits or . _ : / -")
    .optional(),
  url: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }),
  /** Keys the HMAC-SHA256 of each delivery (`VA-Signature`); the receiver holds the same secret. */
  secret: z.string().min(16, "must be at least 16 characters"),
  events: z
    .array(z.enum(WEBHOOK_EVENT_TYPES))
    .min(1, "must name at least one event type")
    .default([...WEBHOOK_EVENT_TYPES]),
  /** One delivery attempt's bound, connection to the end of the answer. */
  timeoutMs: millisecondsSchema(100).max(120_000, "must be at most 120000 ms").default(5000),
});

/** `events`: signed webhooks for session and publish events, through a durable outbox. */
export const eventsSchema = z
  .strictObject({
    webhooks: z
      .array(webhookSchema)
      .default([])
      .transform((hooks) => hooks.map((hook) => ({ ...hook, name: hook.name ?? defaultWebhookName(hook.url) })))
      .superRefine((hooks, ctx) => {
        const seen = new Set<string>();
        hooks.forEach((hook, index) => {
          if (seen.has(hook.name))
            ctx.addIssue({
              code: "custom",
              path: [index, "name"],
              message: `two webhooks are named "${hook.name}": give each a distinct name`,
            });
          seen.add(hook.name);
        });
      }),
    /** The node name events carry (`node`); default: the host name. */
    node: z.string().min(1).max(128).nullable().default(null),
    outbox: z
      .strictObject({
        /** The outbox database (SQLite); default: `webhook-outbox.sqlite` beside `stats.file`. */
        file: z.string().min(1, "must be a file path").nullable().default(null),
        /** Undelivered deliveries kept at most (one per event and webhook); beyond it the oldest are dropped and counted. */
        maxEvents: z
          .number()
          .int("must be a whole number")
          .min(100, "must be at least 100")
          .max(10_000_000, "must be at most 10000000")
          .default(100_000),
        /** A delivery still undelivered this long after its event is dropped and counted. */
        maxAgeSec: secondsSchema(60)
          .max(30 * 86_400, "must be at most 2592000 s (30 days)")
          .default(86_400),
      })
      .prefault({}),
    retry: z
      .strictObject({
        /** The wait after the first failed attempt; it doubles per failure, jittered. */
        initialMs: millisecondsSchema(10).max(60_000, "must be at most 60000 ms").default(1000),
        /** The longest wait between two attempts. */
        maxMs: millisecondsSchema(100).max(3_600_000, "must be at most 3600000 ms").default(300_000),
      })
      .prefault({}),
  })
  .prefault({});

export type EventsConfig = z.output<typeof eventsSchema>;
export type WebhookConfig = EventsConfig["webhooks"][number];

/** A webhook's default name: its URL's host and path, without credentials or query. */
export function defaultWebhookName(url: string): string {
  try {
    const parsed = new URL(url);
    return (parsed.host + parsed.pathname).replace(/[^A-Za-z0-9._:/-]/g, "_").slice(0, 128);
  } catch {
    return "webhook";
  }
}
