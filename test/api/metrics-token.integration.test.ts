import { expect } from "chai";
import { generateApiToken } from "../../plugin/src/api/api-token.js";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import type { ConfigError } from "../../plugin/src/core/errors.js";
import { pluginConfigSchema } from "../../plugin/src/plugin-config-schema.js";
import { startNms, type NmsInstance } from "../helpers/nms-instance.js";
import { TEST_API_TOKEN, TEST_PREVIOUS_API_TOKEN } from "../helpers/api-tokens.js";
import { apiFetch } from "../helpers/openapi-check.js";

const ADMIN = TEST_API_TOKEN;
const SCRAPER = generateApiToken();

function errorOf(config: unknown): ConfigError | undefined {
  try {
    parseConfig(pluginConfigSchema, config);
  } catch (error) {
    return error as ConfigError;
  }
  return undefined;
}

function issuesOf(config: unknown): { path: string; message: string }[] {
  return (errorOf(config)?.issues ?? []).map(({ path, message }) => ({ path, message }));
}

describe("api.metricsToken: a scraper's credential for GET /metrics only (real API on port 0)", function () {
  this.timeout(30000);
  let nms: NmsInstance;
  const call = (method: string, path: string, token: string | null) =>
    apiFetch(`http://127.0.0.1:${nms.auth.api!.port}${path}`, {
      method,
      headers: token === null ? {} : { Authorization: `Bearer ${token}` },
    });

  before(async () => {
    nms = await startNms({ api: { enabled: true, port: 0, token: ADMIN, metricsToken: SCRAPER } });
    await nms.auth.ready;
  });
  after(async () => nms?.stop());

  it("opens GET /metrics, with its query string too", async () => {
    const response = await call("GET", "/metrics", SCRAPER);
    expect(response.status).to.equal(200);
    expect(await response.text()).to.match(/^va_build_info\{/m);
    expect((await call("GET", "/metrics?x=1", SCRAPER)).status).to.equal(200);
    expect((await call("GET", "/metrics", ADMIN)).status, "the admin token still works there").to.equal(200);
  });

  it("opens nothing else: every other route answers 403 VA_API_FORBIDDEN_ROLE (a metrics credential), counted as no failure", async () => {
    for (const path of ["/api/health", "/api/sessions", "/api/channels", "/api/stats/channels", "/api/events"]) {
      const answer = await call("GET", path, SCRAPER);
      expect(answer.status, path).to.equal(403);
      expect(((await answer.json()) as { code: string }).code).to.equal("VA_API_FORBIDDEN_ROLE");
    }
    expect((await call("POST", "/metrics", SCRAPER)).status, "POST /metrics: no such route").to.equal(405);
    expect((await call("DELETE", "/api/users/u1/sessions", SCRAPER)).status).to.equal(403);
    expect(nms.logs.events("api.unauthorized")).to.have.length(0);
  });

  it("is refused at load when weak, or the same as an admin token", () => {
    expect(issuesOf({ api: { enabled: true, token: ADMIN, metricsToken: "prometheus-scraper" } })[0]).to.include({
      path: "api.metricsToken",
    });
    expect(issuesOf({ api: { enabled: true, token: ADMIN, metricsToken: ADMIN } })).to.deep.equal([
      { path: "api.metricsToken", message: "must differ from api.token and api.previousTokens" },
    ]);
    expect(
      issuesOf({ api: { enabled: true, token: ADMIN, previousTokens: [TEST_PREVIOUS_API_TOKEN], metricsToken: TEST_PREVIOUS_API_TOKEN } }),
    ).to.deep.equal([{ path: "api.metricsToken", message: "must differ from api.token and api.previousTokens" }]);
    const weak = errorOf({ api: { enabled: true, token: ADMIN, metricsToken: "prometheus-scraper" } })!;
    expect(weak.issues[0]!.value, "the value is never printed").to.equal("<redacted>");
    expect(weak.message).to.not.include("prometheus-scraper");
    expect(issuesOf({ api: { enabled: true, token: ADMIN, metricsToken: SCRAPER } })).to.deep.equal([]);
  });
});

describe("/metrics without api.metricsToken (real API on port 0)", function () {
  this.timeout(30000);
  it("needs the admin token", async () => {
    const other = await startNms({ api: { enabled: true, port: 0, token: ADMIN } });
    try {
      await other.auth.ready;
      const url = `http://127.0.0.1:${other.auth.api!.port}/metrics`;
      expect((await apiFetch(url, { headers: { Authorization: `Bearer ${SCRAPER}` } })).status).to.equal(401);
      expect((await apiFetch(url, { headers: { Authorization: `Bearer ${ADMIN}` } })).status).to.equal(200);
    } finally {
      await other.stop();
    }
  });
});
