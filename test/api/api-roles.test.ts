import { expect } from "chai";
import { API_ROLES, minimumRoleOf, roleAllows, ROUTE_ROLES } from "../../plugin/src/api/api-roles.js";
import { openApiDocument, type OpenApiObject } from "../../plugin/src/api/openapi-document.js";
import { AUDITED_ROUTES } from "../../plugin/src/audited-actions.js";

const METHODS = ["get", "put", "post", "delete", "patch"];

/** Every operation of the OpenAPI document behind a credential, as `METHOD /template`. */
function guardedOperations(): string[] {
  const paths = openApiDocument().paths as Record<string, Record<string, OpenApiObject>>;
  return Object.entries(paths).flatMap(([template, item]) =>
    METHODS.filter((m) => item[m] !== undefined && !isOpen(item[m]!)).map((m) => `${m.toUpperCase()} ${template}`),
  );
}

function isOpen(operation: OpenApiObject): boolean {
  return Array.isArray(operation.security) && operation.security.length === 0;
}

describe("API roles: one table from route to the weakest role that may call it", () => {
  it("orders the roles metrics < viewer < operator < admin", () => {
    expect(API_ROLES).to.deep.equal(["metrics", "viewer", "operator", "admin"]);
    expect(roleAllows("admin", "operator")).to.equal(true);
    expect(roleAllows("operator", "operator")).to.equal(true);
    expect(roleAllows("viewer", "operator")).to.equal(false);
    expect(roleAllows("metrics", "viewer")).to.equal(false);
    expect(roleAllows("viewer", "metrics")).to.equal(true);
  });

  it("has a row for every route behind a credential, and no row for a route that does not exist", () => {
    const operations = guardedOperations();
    expect(operations.length).to.be.greaterThan(30);
    expect(
      operations.filter((op) => ROUTE_ROLES[op] === undefined),
      "routes without a role",
    ).to.deep.equal([]);
    expect(
      Object.keys(ROUTE_ROLES).filter((key) => !operations.includes(key)),
      "rows without a route",
    ).to.deep.equal([]);
  });

  it("refuses to build a route the table does not name (so a new route cannot be left open to every role)", () => {
    expect(() => minimumRoleOf("POST", /^\/api\/config\/reload$/)).to.throw(/no single row in ROUTE_ROLES/);
    expect(() => minimumRoleOf("GET", /^\/api\/sessions\/([^/]+)\/secret$/)).to.throw(/no single row/);
    expect(minimumRoleOf("DELETE", /^\/api\/sessions\/([^/]+)$/)).to.equal("operator");
    expect(minimumRoleOf("GET", /^\/api\/stats\/(channels|users)$/)).to.equal("viewer");
    expect(minimumRoleOf("DELETE", /^\/api\/revocations\/(token|token-digest|user|ip)\/([^/]+)$/)).to.equal("operator");
  });

  it("gives metrics only GET /metrics, viewer only reads, and keeps user edits and webhook tests for admin", () => {
    const byRole = (role: string) =>
      Object.entries(ROUTE_ROLES)
        .filter(([, r]) => r === role)
        .map(([k]) => k);
    expect(byRole("metrics")).to.deep.equal(["GET /metrics"]);
    expect(
      byRole("viewer").filter((k) => !k.startsWith("GET ")),
      "viewer writes",
    ).to.deep.equal(["POST /api/console/sign-out"]);
    expect(byRole("admin").sort()).to.deep.equal(
      [
        "DELETE /api/users/{login}",
        "PATCH /api/users/{login}",
        "POST /api/users",
        "POST /api/webhooks/test",
        "PUT /api/users/{login}",
      ].sort(),
    );
  });

  it("audits only routes that exist, and every route that acts (every non-GET at operator or admin but explain)", () => {
    for (const key of Object.keys(AUDITED_ROUTES)) expect(ROUTE_ROLES[key], key).to.be.oneOf(["operator", "admin"]);
    const acting = Object.entries(ROUTE_ROLES)
      .filter(([key, role]) => !key.startsWith("GET ") && (role === "operator" || role === "admin") && key !== "POST /api/explain")
      .map(([key]) => key);
    expect(
      acting.filter((key) => AUDITED_ROUTES[key] === undefined),
      "acting routes not audited",
    ).to.deep.equal([]);
  });

  it("states each route's role in the OpenAPI document", () => {
    const paths = openApiDocument().paths as Record<string, Record<string, OpenApiObject>>;
    expect(paths["/api/sessions/{id}"]!.delete!["x-minimum-role"]).to.equal("operator");
    expect(paths["/metrics"]!.get!["x-minimum-role"]).to.equal("metrics");
    expect((paths["/api/users"]!.get!.responses as Record<string, unknown>)["403"]).to.deep.equal({
      $ref: "#/components/responses/ForbiddenRole",
    });
  });
});
