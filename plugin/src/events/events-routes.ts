import { apiError } from "../core/api-errors.js";
import { isReply, jsonBody, type Route } from "../core/api-route.js";
import type { WebhookEvents } from "./webhook-events.js";

/**
 * The webhooks' routes: `GET /api/webhooks` (each webhook's backlog and last outcome, no secret) and
 * `POST /api/webhooks/test` (a `test` event to every webhook, or to `{"webhook": "<name>"}`, through the
 * outbox like any event: 202 with its id).
 */
export function eventsRoutes(events: WebhookEvents | undefined): Route[] {
  const off = () => apiError(404, "VA_API_FEATURE_OFF", "no webhook is configured (set events.webhooks)");
  return [
    {
      method: "GET",
      pattern: /^\/api\/webhooks$/,
      handler: () => (events === undefined ? off() : { status: 200, body: { webhooks: events.status() } }),
    },
    {
      method: "POST",
      pattern: /^\/api\/webhooks\/test$/,
      handler: (request) => {
        if (events === undefined) return off();
        let name: string | undefined;
        if (request.body.length > 0) {
          const parsed = jsonBody(request);
          if (isReply(parsed)) return parsed;
          const value = parsed.value as { webhook?: unknown } | null;
          if (typeof value !== "object" || value === null || Array.isArray(value))
            return apiError(400, "VA_API_BAD_REQUEST", 'the body must be an object: {"webhook": "<name>"} or {}');
          const unknownKey = Object.keys(value).find((k) => k !== "webhook");
          if (unknownKey !== undefined) return apiError(400, "VA_API_BAD_REQUEST", `unknown key "${unknownKey.slice(0, 40)}"`);
          if (value.webhook !== undefined && typeof value.webhook !== "string")
            return apiError(400, "VA_API_BAD_REQUEST", "webhook must be a webhook's name");
          name = value.webhook;
        }
        const queued = events.sendTest(name);
        if (queued === undefined) return apiError(404, "VA_API_WEBHOOK_NOT_FOUND", `no webhook is named "${name!.slice(0, 128)}"`);
        return { status: 202, body: queued };
      },
    },
  ];
}
