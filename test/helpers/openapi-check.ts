/**
 * Checks the management API's answers against its OpenAPI document (plugin/src/api/openapi-document.ts):
 * the operation is found by method, path template and status, then the content type, the required
 * headers and the body must match what the document says. A path, method or status the document does
 * not have is a failure, so the document cannot fall behind the code unnoticed. Every test that calls
 * the API goes through `apiFetch` (a drop-in `fetch`) or `assertMatchesContract` (raw node:http answers).
 */
import Ajv2020Module, { type ValidateFunction } from "ajv/dist/2020.js";
import { openApiDocument, type OpenApiObject } from "../../plugin/src/api/openapi-document.js";

/** One answer of the API as a test received it. */
export interface ApiAnswer {
  method: string;
  /** The request path, with or without its query. */
  path: string;
  status: number;
  /** Response headers, names in any case. */
  headers: Record<string, string | string[] | undefined> | Headers;
  /** The body as text; undefined when it was not read (an event stream). */
  body: string | undefined;
}

// ajv is CommonJS: under NodeNext its class is the default export's `default`.
const Ajv2020 = Ajv2020Module.default;
const DOCUMENT_ID = "urn:nms-viewer-auth:openapi";
/** Keywords of an OpenAPI document outside JSON Schema: annotations to ajv, so its strict mode accepts them. */
const OPENAPI_KEYWORDS = [
  "openapi",
  "info",
  "jsonSchemaDialect",
  "servers",
  "security",
  "tags",
  "paths",
  "components",
  "webhooks",
  "externalDocs",
  "example",
  "discriminator",
  "xml",
];
/** What the router answers on a path no template takes: a refused credential or no such route. */
const UNMATCHED_RESPONSES: Record<number, string> = {
  401: "Unauthorized",
  403: "CsrfMissing",
  404: "NotFound",
  413: "BodyTooLarge",
  429: "Banned",
};
/** What the router answers on a known path under another method, besides a refused credential. */
const WRONG_METHOD_RESPONSES: Record<number, string> = { ...UNMATCHED_RESPONSES, 405: "MethodNotAllowed" };
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

interface Template {
  path: string;
  regex: RegExp;
  params: number;
  item: Record<string, OpenApiObject>;
}

let compiled: { ajv: InstanceType<typeof Ajv2020>; templates: Template[]; document: OpenApiObject } | undefined;
const validators = new Map<string, ValidateFunction>();

function contract(): NonNullable<typeof compiled> {
  if (compiled !== undefined) return compiled;
  const document = openApiDocument();
  const ajv = new Ajv2020({
    strict: true,
    // An error answer's schema narrows `code` beside its $ref without repeating `type`; that is valid 2020-12.
    strictTypes: false,
    allErrors: true,
    formats: { "date-time": isDateTime },
  });
  ajv.addVocabulary(OPENAPI_KEYWORDS);
  ajv.addSchema({ ...document, $id: DOCUMENT_ID });
  const templates = Object.entries(document.paths as Record<string, Record<string, OpenApiObject>>).map(([path, item]) =>
    templateOf(path, item),
  );
  // A literal segment wins over a parameter (`/api/sessions/revoke` before `/api/sessions/{id}`), as OpenAPI says.
  templates.sort((a, b) => a.params - b.params);
  compiled = { ajv, templates, document };
  return compiled;
}

function templateOf(path: string, item: Record<string, OpenApiObject>): Template {
  const params = new Map<string, OpenApiObject>();
  for (const method of METHODS)
    for (const p of (item[method]?.parameters ?? []) as OpenApiObject[]) if (p.in === "path") params.set(p.name as string, p);
  let count = 0;
  const source = path
    .split(/(\{[^}]+\})/)
    .map((part) => {
      const name = /^\{([^}]+)\}$/.exec(part)?.[1];
      if (name === undefined) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      count++;
      const values = ((params.get(name)?.schema as OpenApiObject | undefined)?.enum ?? undefined) as string[] | undefined;
      return values === undefined ? "([^/]+)" : `(${values.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})`;
    })
    .join("");
  return { path, regex: new RegExp(`^${source}$`), params: count, item };
}

/** The problems of an answer against the document; empty when it conforms. */
export function contractProblems(given: ApiAnswer): string[] {
  // A HEAD answer has the GET's headers and no body.
  const answer = given.method.toUpperCase() === "HEAD" ? { ...given, body: undefined } : given;
  const { templates } = contract();
  const path = answer.path.split("?")[0]!;
  const method = answer.method.toLowerCase();
  const what = `${answer.method.toUpperCase()} ${path} → ${answer.status}`;
  const matching = templates.filter((t) => t.regex.test(path));
  if (matching.length === 0) return generic(answer, what, UNMATCHED_RESPONSES, "no path of the document matches it");
  const asMethod = method === "head" ? "get" : method;
  const found = matching.find((t) => t.item[asMethod] !== undefined);
  const otherMethods = matching[0]!.item["x-other-methods"] as Record<string, OpenApiObject> | undefined;
  if (found === undefined && otherMethods?.[String(answer.status)] !== undefined)
    return responseProblems(answer, `#/paths/${escapePointer(matching[0]!.path)}/x-other-methods/${answer.status}`, what);
  if (found === undefined) {
    const problems = generic(answer, what, WRONG_METHOD_RESPONSES, `the document has no ${asMethod} on ${matching[0]!.path}`);
    if (problems.length === 0 && answer.status === 405) problems.push(...allowProblems(answer, matching, what));
    return problems;
  }
  const operation = found.item[asMethod]!;
  const responses = operation.responses as Record<string, OpenApiObject>;
  const pointer = `#/paths/${escapePointer(found.path)}/${asMethod}/responses/${answer.status}`;
  // A GET row that takes no HEAD (a stream, a state check) answers HEAD like any method it does not take.
  if (method === "head" && responses[String(answer.status)] === undefined && WRONG_METHOD_RESPONSES[answer.status] !== undefined)
    return generic(answer, what, WRONG_METHOD_RESPONSES, "");
  if (responses[String(answer.status)] === undefined)
    return [
      `${what}: status ${answer.status} is not in the document for ${asMethod} ${found.path} (it has ${Object.keys(responses).join(", ")})`,
    ];
  return responseProblems(answer, pointer, what);
}

/** Throws with every problem when the answer does not conform to the document. */
export function assertMatchesContract(answer: ApiAnswer): void {
  const problems = contractProblems(answer);
  if (problems.length > 0) throw new Error(`the answer breaks the OpenAPI document:\n  ${problems.join("\n  ")}`);
}

/**
 * `fetch` for the management API: the same call and Response, after the answer is checked against the
 * document (the body is read from a clone, so the caller reads it as usual). An event stream's body is
 * not read (it never ends); a redirect is checked at the URL it ended on.
 */
export async function apiFetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
  const response = await fetch(input, init);
  const method = init.method ?? "GET";
  const streaming = (response.headers.get("content-type") ?? "").startsWith("text/event-stream");
  const body = streaming || method.toUpperCase() === "HEAD" ? undefined : await response.clone().text();
  const url = new URL(response.url !== "" ? response.url : String(input));
  assertMatchesContract({ method, path: url.pathname, status: response.status, headers: response.headers, body });
  return response;
}

function generic(answer: ApiAnswer, what: string, allowed: Record<number, string>, why: string): string[] {
  const name = allowed[answer.status];
  if (name === undefined) return [`${what}: ${why}, and ${answer.status} is not an answer the router gives there`];
  return responseProblems(answer, `#/components/responses/${name}`, what);
}

function allowProblems(answer: ApiAnswer, matching: readonly Template[], what: string): string[] {
  const allow = headerOf(answer.headers, "allow");
  if (allow === undefined) return [`${what}: no Allow header`];
  const given = new Set(allow.split(",").map((m) => m.trim().toLowerCase()));
  const documented = new Set(matching.flatMap((t) => Object.keys(t.item).filter((k) => METHODS.includes(k))));
  const missing = [...documented].filter((m) => !given.has(m));
  const extra = [...given].filter((m) => m !== "head" && m !== "*" && !documented.has(m));
  return missing.length + extra.length === 0 ? [] : [`${what}: Allow "${allow}" differs from the document (${[...documented].join(", ")})`];
}

function responseProblems(answer: ApiAnswer, pointer: string, what: string): string[] {
  const { document } = contract();
  let response = resolve(document, pointer);
  while (typeof response.$ref === "string") {
    pointer = response.$ref;
    response = resolve(document, pointer);
  }
  const problems: string[] = [];
  for (const [name, header] of Object.entries((response.headers ?? {}) as Record<string, OpenApiObject>))
    if (header.required === true && headerOf(answer.headers, name) === undefined) problems.push(`${what}: no ${name} header`);
  const content = response.content as Record<string, OpenApiObject> | undefined;
  const contentType = headerOf(answer.headers, "content-type");
  if (content === undefined) {
    if (answer.body !== undefined && answer.body !== "")
      problems.push(`${what}: the document says no body, got ${answer.body.slice(0, 80)}`);
    return problems;
  }
  const mediaType = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  const key = Object.keys(content).find(
    (k) => k === mediaType || k === "*/*" || (k.endsWith("/*") && mediaType.startsWith(k.slice(0, -1))),
  );
  if (key === undefined) return [...problems, `${what}: content type "${contentType}" is not one of ${Object.keys(content).join(", ")}`];
  if (answer.body === undefined) return problems;
  let value: unknown = answer.body;
  if (mediaType === "application/json") {
    try {
      value = JSON.parse(answer.body);
    } catch {
      return [...problems, `${what}: the body is not JSON: ${answer.body.slice(0, 80)}`];
    }
  }
  const validate = validatorFor(`${pointer}/content/${escapePointer(key)}/schema`);
  if (!validate(value))
    for (const e of validate.errors ?? [])
      problems.push(`${what}: body${e.instancePath} ${e.message ?? "is invalid"}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`);
  return problems;
}

function validatorFor(pointer: string): ValidateFunction {
  const known = validators.get(pointer);
  if (known !== undefined) return known;
  const validate = contract().ajv.compile({ $ref: `${DOCUMENT_ID}${pointer}` });
  validators.set(pointer, validate);
  return validate;
}

function resolve(document: OpenApiObject, pointer: string): OpenApiObject {
  let at: unknown = document;
  for (const part of pointer.replace(/^#\//, "").split("/"))
    at = (at as Record<string, unknown>)[part.replace(/~1/g, "/").replace(/~0/g, "~")];
  if (at === undefined) throw new Error(`the document has nothing at ${pointer}`);
  return at as OpenApiObject;
}

function escapePointer(part: string): string {
  return part.replace(/~/g, "~0").replace(/\//g, "~1");
}

function headerOf(headers: ApiAnswer["headers"], name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const entry = Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
  return Array.isArray(entry) ? entry.join(", ") : entry;
}

function isDateTime(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(text) && !Number.isNaN(Date.parse(text));
}
