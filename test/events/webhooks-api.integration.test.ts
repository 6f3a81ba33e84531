import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildViewerAuth, type ViewerAuth } from "../../plugin/src/viewer-auth.js";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import { pluginConfigSchema, type PluginConfig } from "../../plugin/src/plugin-config-schema.js";
import { TEST_API_TOKEN } from "../helpers/api-tokens.js";
import { apiFetch } from "../helpers/openapi-check.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";
import { waitUntil } from "../helpers/wait-for.js";
import { WebhookReceiver } from "../helpers/webhook-receiver.js";

const SECRET = "receiver-secret-0123456789";

describe("webhooks API and metrics: GET /api/webhooks, POST /api/webhooks/test, va_webhook_*", function () {
  this.timeout(30_000);
  let dir: string;
  let receiver: WebhookReceiver;
  let down: WebhookReceiver;
  let auth: ViewerAuth;
  let base: string;
  const api = async (method: string, path: string, body?: string) => {
    const res = await apiFetch(base + path, {
      method,
      headers: { Authorization: `Bearer ${TEST_API_TOKEN}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
      ...(body === undefined ? {} : { body }),
    });
    const text = await res.text();
    return { status: res.status, text, json: res.headers.get("content-type")?.includes("json") ? (JSON.parse(text) as any) : undefined };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "va-webhooks-api-"));
    receiver = new WebhookReceiver(SECRET);
    await receiver.listen();
    down = new WebhookReceiver(SECRET);
    await down.listen();
    const downUrl = down.url;
    await down.close();
    const config = parseConfig(pluginConfigSchema, {
      api: { enabled: true, port: 0, token: TEST_API_TOKEN },
      stats: { file: join(dir, "stats.sqlite") },
      events: {
        webhooks: [
          { name: "up", url: receiver.url, secret: SECRET },
          { name: "down", url: downUrl, secret: "down-secret-0123456789" },
        ],
        retry: { initialMs: 50, maxMs: 200 },
      },
    }) as PluginConfig;
    auth = buildViewerAuth(config, { logger: createCapturingLogger().logger });
    await auth.start();
    base = `http://127.0.0.1:${auth.api!.port}`;
  });
  after(async () => {
    await auth.detach();
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("POST /api/webhooks/test sends a test event through the outbox to every webhook, or to the one named", async () => {
    const all = await api("POST", "/api/webhooks/test");
    expect(all.status).to.equal(202);
    expect(all.json.webhooks).to.deep.equal(["up", "down"]);
    const one = await api("POST", "/api/webhooks/test", JSON.stringify({ webhook: "up" }));
    expect(one.status).to.equal(202);
    expect(one.json.webhooks).to.deep.equal(["up"]);
    await waitUntil("both test events at the receiver", () => receiver.events.length === 2);
    expect(receiver.events.map((e) => [e.id, e.type])).to.deep.equal([
      [all.json.id, "test"],
      [one.json.id, "test"],
    ]);
    expect((await api("POST", "/api/webhooks/test", JSON.stringify({ webhook: 3 }))).json.code).to.equal("VA_API_BAD_REQUEST");
    expect((await api("POST", "/api/webhooks/test", JSON.stringify({ other: "x" }))).json.code).to.equal("VA_API_BAD_REQUEST");
    const unknown = await api("POST", "/api/webhooks/test", JSON.stringify({ webhook: "nope" }));
    expect([unknown.status, unknown.json.code]).to.deep.equal([404, "VA_API_WEBHOOK_NOT_FOUND"]);
  });

  it("GET /api/webhooks: per webhook its backlog, oldest pending age, last error and last success; no secret", async () => {
    await waitUntil("the down webhook failed", async () => (await api("GET", "/api/webhooks")).json.webhooks[1].lastError !== null);
    const answer = await api("GET", "/api/webhooks");
    expect(answer.status).to.equal(200);
    const [up, downHook] = answer.json.webhooks;
    expect(up).to.include({ name: "up", pending: 0, lastError: null, oldestPendingAgeSec: null });
    expect(up.lastSuccessAt).to.be.a("string");
    expect(downHook).to.include({ name: "down", pending: 1, lastSuccessAt: null, lastError: "ECONNREFUSED" });
    expect(downHook.oldestPendingAgeSec).to.be.a("number");
    expect(answer.text).to.not.include(SECRET).and.not.include("down-secret");
  });

  it("/metrics: va_webhook_pending, _delivered_total, _failed_total, _dropped_total{reason}", async () => {
    const page = (await api("GET", "/metrics")).text;
    expect(page).to.match(/^va_webhook_pending\{webhook="down"\} 1$/m);
    expect(page).to.match(/^va_webhook_delivered_total\{webhook="up"\} 2$/m);
    expect(page).to.match(/^va_webhook_failed_total\{webhook="down"\} [1-9]\d*$/m);
    expect(page).to.match(/^va_webhook_dropped_total\{reason="expired"\} 0$/m);
    expect(page).to.match(/^va_webhook_dropped_total\{reason="overflow"\} 0$/m);
  });

  it("without webhooks both routes answer 404 VA_API_FEATURE_OFF", async () => {
    const bare = buildViewerAuth(
      parseConfig(pluginConfigSchema, { api: { enabled: true, port: 0, token: TEST_API_TOKEN } }) as PluginConfig,
      {
        logger: createCapturingLogger().logger,
      },
    );
    await bare.start();
    try {
      const bareBase = `http://127.0.0.1:${bare.api!.port}`;
      for (const [method, path] of [
        ["GET", "/api/webhooks"],
        ["POST", "/api/webhooks/test"],
      ] as const) {
        const res = await apiFetch(bareBase + path, { method, headers: { Authorization: `Bearer ${TEST_API_TOKEN}` } });
        expect([res.status, ((await res.json()) as { code: string }).code]).to.deep.equal([404, "VA_API_FEATURE_OFF"]);
      }
    } finally {
      await bare.detach();
    }
  });

  it("the outbox defaults to webhook-outbox.sqlite beside stats.file", async () => {
    const { existsSync } = await import("node:fs");
    expect(existsSync(join(dir, "webhook-outbox.sqlite"))).to.equal(true);
  });
});
