import { z } from "zod";
import { apiError } from "../core/api-errors.js";
import { isReply, jsonBody, type ApiRequest, type Reply, type Route } from "../core/api-route.js";
import { ExplainInputError } from "./explain-target.js";
import type { Explainer } from "./explainer.js";

/** The body of `POST /api/explain`; unknown keys are errors. */
const explainBodySchema = z.strictObject({
  url: z.string().min(1).max(16_384),
  ip: z.string().min(1).max(64),
  userAgent: z.string().max(1024).optional(),
  headers: z.record(z.string(), z.string().max(8192)).optional(),
  cacheOnly: z.boolean().optional(),
});

/**
 * `POST /api/explain`: what the chain, the pipeline around it and the session limits would do with a
 * URL opened from an address, changing nothing (docs/explain.md). The backend is asked unless
 * `cacheOnly`, and its answer is not cached.
 */
export function explainRoutes(explainer: Explainer): Route[] {
  return [{ method: "POST", pattern: /^\/api\/explain$/, handler: (request) => explain(explainer, request) }];
}

async function explain(explainer: Explainer, request: ApiRequest): Promise<Reply> {
  const parsed = jsonBody(request);
  if (isReply(parsed)) return parsed;
  const body = explainBodySchema.safeParse(parsed.value);
  if (!body.success) {
    const issue = body.error.issues[0]!;
    const where = issue.path.length === 0 ? "body" : issue.path.join(".");
    return apiError(400, "VA_API_BAD_REQUEST", `${where}: ${issue.message}`);
  }
  try {
    return { status: 200, body: await explainer.explain(body.data) };
  } catch (error) {
    if (error instanceof ExplainInputError) return apiError(400, error.code, error.message);
    throw error;
  }
}
