import { expect } from "chai";
import { startNms, type NmsInstance } from "../helpers/nms-instance.js";
import { TEST_API_TOKEN } from "../helpers/api-tokens.js";
import { apiFetch } from "../helpers/openapi-check.js";
import { openApiDocument, type OpenApiObject } from "../../plugin/src/api/openapi-document.js";

const METHODS = ["get", "put", "post", "delete", "patch"];

/** Concrete paths for a template: every value of an enum parameter, a sample for the others. */
function samplesOf(template: string, item: Record<string, OpenApiObject>): string[] {
  const params = Object.values(item)
    .flatMap((op) => (op.parameters ?? []) as OpenApiObject[])
    .filter((p) => p.in === "path");
  let out = [template];
  for (const name of [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!)) {
    const values = ((params.find((p) => p.name === name)?.schema as { enum?: string[] } | undefined)?.enum ?? ["sample-1"]) as string[];
    out = out.flatMap((path) => values.map((v) => path.replace(`{${name}}`, v)));
  }
  return out;
}

describe("the OpenAPI document as served, and the route table it describes (real API on port 0)", function () {
  this.timeout(30000);
  let nms: NmsInstance;
  const url = (path: string) => `http://127.0.0.1:${nms.auth.api!.port}${path}`;

  before(async () => {
    nms = await startNms({ api: { enabled: true, port: 0, token: TEST_API_TOKEN } });
    await nms.auth.ready;
  });
  after(async () => nms?.stop());

  it("serves the module's document without a credential, revalidated by ETag", async () => {
    const response = await apiFetch(url("/api/openapi.json"));
    expect(response.status).to.equal(200);
    expect(await response.json()).to.deep.equal(openApiDocument());
    expect(response.headers.get("cache-control")).to.equal("no-cache");
    const etag = response.headers.get("etag")!;
    expect(etag).to.match(/^"[A-Za-z0-9_-]+"$/);
    const again = await apiFetch(url("/api/openapi.json"), { headers: { "If-None-Match": etag } });
    expect(again.status).to.equal(304);
    expect(await again.text()).to.equal("");
  });

  it("answers another method 405 with Allow (401 first without a credential, like every route)", async () => {
    const post = await apiFetch(url("/api/openapi.json"), { method: "POST", headers: { Authorization: `Bearer ${TEST_API_TOKEN}` } });
    expect(post.status).to.equal(405);
    expect(post.headers.get("allow")).to.equal("GET, HEAD");
    expect((await apiFetch(url("/api/openapi.json"), { method: "DELETE" })).status).to.equal(401);
  });

  it("has a path for every row of the route table, and every operation of the document is a row", () => {
    const routes = nms.auth.api!.routes;
    const paths = openApiDocument().paths as Record<string, Record<string, OpenApiObject>>;
    const operations = Object.entries(paths).flatMap(([template, item]) =>
      METHODS.filter((m) => item[m] !== undefined).map((method) => ({ method, template, samples: samplesOf(template, item) })),
    );
    expect(routes.length).to.be.greaterThan(30);
    for (const route of routes) {
      const documented = operations.some(
        (op) =>
          (route.method === "*" ? op.method === "get" : op.method === route.method.toLowerCase()) &&
          op.samples.some((s) => route.pattern.test(s)),
      );
      expect(documented, `${route.method} ${String(route.pattern)} has no path in the OpenAPI document`).to.equal(true);
    }
    for (const op of operations) {
      for (const sample of op.samples) {
        const row = routes.find((r) => (r.method === "*" || r.method.toLowerCase() === op.method) && r.pattern.test(sample));
        expect(row, `${op.method} ${op.template} (${sample}) is in the document but no route answers it`).to.not.equal(undefined);
      }
    }
  });
});
