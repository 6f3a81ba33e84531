import { expect } from "chai";
import { readFileSync } from "node:fs";
import { OPENAPI_DOCUMENT_PATH, openApiDocument, openApiDocumentText, type OpenApiObject } from "../../plugin/src/api/openapi-document.js";
import { API_ERROR_CODES } from "../../plugin/src/core/api-errors.js";
import { END_REASONS } from "../../plugin/src/core/viewer-session.js";
import { PROTOCOLS } from "../../plugin/src/core/auth-request.js";
import { contractProblems, type ApiAnswer } from "../helpers/openapi-check.js";

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };

/** Every `$ref` anywhere in a value. */
function refsIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refsIn);
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => (k === "$ref" && typeof v === "string" ? [v] : refsIn(v)));
}

function at(document: OpenApiObject, pointer: string): unknown {
  let node: unknown = document;
  for (const part of pointer.replace(/^#\//, "").split("/"))
    node = node === undefined ? undefined : (node as Record<string, unknown>)[part.replace(/~1/g, "/").replace(/~0/g, "~")];
  return node;
}

const session = {
  id: "a1",
  protocol: "hls",
  app: "live",
  channel: "test",
  ip: "127.0.0.1",
  userAgent: "curl",
  state: "playing",
  startedAt: 1,
  lastActivityAt: 2,
  bytesOut: 3,
};
const answer = (method: string, path: string, status: number, body: unknown, headers: ApiAnswer["headers"] = JSON_HEADERS): ApiAnswer => ({
  method,
  path,
  status,
  headers,
  body: typeof body === "string" ? body : JSON.stringify(body),
});

describe("the management API's OpenAPI document (schema/openapi.json)", () => {
  const document = openApiDocument();
  const paths = document.paths as Record<string, Record<string, OpenApiObject>>;

  it("is what the module builds now (run npx tsx scripts/openapi.ts after changing it)", () => {
    const committed = readFileSync(OPENAPI_DOCUMENT_PATH, "utf8");
    expect(committed === openApiDocumentText(), `${OPENAPI_DOCUMENT_PATH} is stale: run npx tsx scripts/openapi.ts`).to.equal(true);
  });

  it("is OpenAPI 3.1 with the package's version", () => {
    const version = (JSON.parse(readFileSync("plugin/package.json", "utf8")) as { version: string }).version;
    expect(document.openapi).to.equal("3.1.0");
    expect((document.info as { version: string }).version).to.equal(version);
  });

  it("gives every operation responses, a unique operationId and its path parameters; every $ref resolves", () => {
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(paths)) {
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const method of Object.keys(item).filter((k) => METHODS.includes(k))) {
        const op = item[method]!;
        expect(Object.keys(op.responses as object), `${method} ${path}`).to.not.be.empty;
        expect(ids.has(op.operationId as string), `operationId ${String(op.operationId)}`).to.equal(false);
        ids.add(op.operationId as string);
        const declared = ((op.parameters ?? []) as OpenApiObject[]).filter((p) => p.in === "path").map((p) => p.name);
        expect(declared, `${method} ${path}: path parameters`).to.have.members(names);
      }
    }
    const refs = refsIn(document);
    expect(refs.length).to.be.greaterThan(20);
    for (const ref of refs) expect(at(document, ref), ref).to.not.equal(undefined);
  });

  it("takes its closed sets from the code: error codes, end reasons, protocols", () => {
    const schemas = (document.components as { schemas: Record<string, OpenApiObject> }).schemas;
    expect((schemas.Error!.properties as { code: { enum: string[] } }).code.enum).to.deep.equal([...API_ERROR_CODES]);
    expect(schemas.EndReason!.enum).to.deep.equal([...END_REASONS]);
    expect(schemas.Protocol!.enum).to.deep.equal([...PROTOCOLS]);
  });
});

describe("the OpenAPI check of API answers (test/helpers/openapi-check.ts)", () => {
  it("accepts answers the document describes", () => {
    expect(contractProblems(answer("GET", "/api/sessions/a1", 200, session))).to.deep.equal([]);
    expect(contractProblems(answer("GET", "/api/health?x=1", 200, { status: "ok", liveSessions: 0 }))).to.deep.equal([]);
    expect(contractProblems(answer("GET", "/api/nope", 404, { error: "no such route", code: "VA_API_NOT_FOUND" }))).to.deep.equal([]);
    expect(
      contractProblems(
        answer("DELETE", "/api/health", 405, { error: "x", code: "VA_API_METHOD_NOT_ALLOWED" }, { ...JSON_HEADERS, allow: "GET, HEAD" }),
      ),
    ).to.deep.equal([]);
    expect(contractProblems(answer("POST", "/api/sessions/revoke", 200, { closed: [], until: "2026-01-01T00:00:00.000Z" }))).to.deep.equal(
      [],
    );
  });

  it("rejects a body that breaks the schema: a missing key, an unknown key, a value outside a closed set, a wrong type", () => {
    const { id: _id, ...withoutId } = session;
    expect(contractProblems(answer("GET", "/api/sessions/a1", 200, withoutId)).join()).to.match(/must have required property 'id'/);
    expect(contractProblems(answer("GET", "/api/sessions/a1", 200, { ...session, secret: "x" })).join()).to.match(/additional/);
    expect(contractProblems(answer("GET", "/api/sessions/a1", 200, { ...session, protocol: "srt" })).join()).to.match(/allowed values/);
    expect(contractProblems(answer("GET", "/api/sessions/a1", 200, { ...session, endReason: "bored" })).join()).to.match(/allowed values/);
    expect(contractProblems(answer("GET", "/api/health", 200, { status: "ok", liveSessions: "1" })).join()).to.match(/integer/);
    expect(contractProblems(answer("POST", "/api/sessions/revoke", 200, { closed: [], until: "tomorrow" })).join()).to.match(/date-time/);
  });

  it("rejects an error code not on the closed list, or not the one the status allows", () => {
    expect(contractProblems(answer("GET", "/api/sessions/a1", 404, { error: "gone", code: "VA_API_GONE" })).join()).to.match(
      /allowed values/,
    );
    expect(contractProblems(answer("GET", "/api/sessions/a1", 404, { error: "x", code: "VA_API_CONFLICT" })).join()).to.match(
      /allowed values/,
    );
  });

  it("rejects a status, a path or a method the document does not have, a wrong content type and a missing required header", () => {
    expect(contractProblems(answer("GET", "/api/health", 418, {})).join()).to.match(/418 is not in the document/);
    expect(contractProblems(answer("GET", "/api/nope", 200, {})).join()).to.match(/no path of the document/);
    expect(contractProblems(answer("PUT", "/api/health", 200, {})).join()).to.match(/no put/);
    expect(
      contractProblems(answer("GET", "/api/health", 200, { status: "ok", liveSessions: 0 }, { "content-type": "text/html" })).join(),
    ).to.match(/content type/);
    expect(contractProblems(answer("GET", "/api/health", 401, { error: "x", code: "VA_API_UNAUTHORIZED" })).join()).to.match(
      /WWW-Authenticate/,
    );
    expect(
      contractProblems(
        answer("DELETE", "/api/health", 405, { error: "x", code: "VA_API_METHOD_NOT_ALLOWED" }, { ...JSON_HEADERS, allow: "GET, POST" }),
      ).join(),
    ).to.match(/Allow/);
  });
});
