import { expect } from "chai";
import { request } from "node:http";
import { startNms, type NmsInstance } from "../helpers/nms-instance.js";
import { TEST_API_TOKEN, TEST_CREDENTIALS, TEST_VIEWER_TOKEN } from "../helpers/api-tokens.js";
import { API_ERROR_CODES } from "../../plugin/src/core/api-errors.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { contractProblems } from "../helpers/openapi-check.js";

const ADMIN = TEST_API_TOKEN;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: Record<string, unknown>;
}

/** One request with node:http (fetch cannot send a body with HEAD); a HEAD answer has no body to parse. */
function send(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.once("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const problems = contractProblems({ method, path, status: res.statusCode ?? 0, headers: res.headers, body: text });
        if (problems.length > 0) return reject(new Error(`the answer breaks the OpenAPI document:\n  ${problems.join("\n  ")}`));
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          json: text === "" ? {} : (JSON.parse(text) as Record<string, unknown>),
        });
      });
    });
    req.once("error", reject);
    req.end(body);
  });
}

describe("management API: every error answer carries a stable code (real API on port 0)", function () {
  this.timeout(30000);
  let nms: NmsInstance;
  /** The codes seen in real answers, checked against the closed list at the end. */
  const seen = new Set<string>();
  const call = async (method: string, path: string, token: string | null, body?: Buffer | string, headers: Record<string, string> = {}) => {
    const answer = await send(
      nms.auth.api!.port!,
      method,
      path,
      { ...(token === null ? {} : { Authorization: `Bearer ${token}` }), ...headers },
      body,
    );
    if (answer.status >= 400 && method !== "HEAD") {
      expect(answer.json.error, `${method} ${path}: the sentence stays`).to.be.a("string").and.not.equal("");
      expect(API_ERROR_CODES as readonly unknown[], `${method} ${path}: ${JSON.stringify(answer.json)}`).to.include(answer.json.code);
      seen.add(answer.json.code as string);
    }
    return answer;
  };
  const expectCode = (answer: Answer, status: number, code: string) => {
    expect(answer.status, JSON.stringify(answer.json)).to.equal(status);
    expect(answer.json.code).to.equal(code);
  };

  before(async () => {
    nms = await startNms(
      {
        auth: { users: [{ login: "carol", tokens: ["carol-token-0000001"], packages: ["*"] }] },
        api: { enabled: true, port: 0, token: ADMIN, credentials: [...TEST_CREDENTIALS] },
        // A webhook to the discard port: nothing is delivered, the routes answer.
        events: {
          webhooks: [{ name: "billing", url: "http://127.0.0.1:9/hook", secret: "webhook-secret-0123456789" }],
          outbox: { file: join(mkdtempSync(join(tmpdir(), "va-codes-")), "outbox.sqlite") },
        },
      },
      {
        apiProviders: {
          channels: () => {
            throw new Error("the channel list failed");
          },
        },
      },
    );
    await nms.auth.ready;
  });
  after(async () => nms?.stop());

  it("401, 404 (no route, no resource, a feature off), 405 with Allow, 413", async () => {
    expectCode(await call("GET", "/api/health", null), 401, "VA_API_UNAUTHORIZED");
    expectCode(await call("GET", "/api/console/session", null), 401, "VA_API_UNAUTHORIZED");
    expectCode(await call("GET", "/api/nope", ADMIN), 404, "VA_API_NOT_FOUND");
    expectCode(await call("GET", "/api/sessions/no-such-session", ADMIN), 404, "VA_API_NOT_FOUND");
    expectCode(await call("GET", "/api/stats/channels", ADMIN), 404, "VA_API_FEATURE_OFF");
    expectCode(await call("GET", "/api/cluster", ADMIN), 404, "VA_API_FEATURE_OFF");
    expectCode(await call("DELETE", "/api/revocations/user/nobody", ADMIN), 404, "VA_API_NOT_FOUND");
    expectCode(await call("POST", "/api/nope", ADMIN, Buffer.alloc(64 * 1024 + 1, 0x20)), 413, "VA_API_BODY_TOO_LARGE");
  });

  it("every 405 carries Allow: the methods the route table takes on that path", async () => {
    const health = await call("DELETE", "/api/health", ADMIN);
    expectCode(health, 405, "VA_API_METHOD_NOT_ALLOWED");
    expect(health.headers.allow).to.equal("GET, HEAD");
    const revocations = await call("PUT", "/api/revocations", ADMIN);
    expectCode(revocations, 405, "VA_API_METHOD_NOT_ALLOWED");
    expect(revocations.headers.allow).to.equal("GET, HEAD, POST");
    const events = await call("HEAD", "/api/events", ADMIN);
    expect(events.status).to.equal(405);
    expect(events.headers.allow, "the event stream has no header-only form").to.equal("GET");
    const probe = await call("POST", "/api/live", ADMIN);
    expect(probe.status).to.equal(405);
    expect(probe.headers.allow).to.equal("GET, HEAD");
  });

  it("400 for a body that is not JSON and for one that is not what the route takes; 415; 409; 500", async () => {
    const json = { "Content-Type": "application/json" };
    expectCode(await call("POST", "/api/revocations", ADMIN, "{", json), 400, "VA_API_BAD_JSON");
    expectCode(await call("POST", "/api/revocations", ADMIN, "", json), 400, "VA_API_BAD_JSON");
    expectCode(await call("POST", "/api/revocations", ADMIN, "{}", json), 400, "VA_API_BAD_REQUEST");
    expectCode(await call("GET", "/api/sessions?limit=-1", ADMIN), 400, "VA_API_BAD_REQUEST");
    expectCode(await call("GET", "/api/sessions/%zz", ADMIN), 400, "VA_API_BAD_REQUEST");
    expectCode(
      await call("POST", "/api/console/sign-in", null, "x", { "Content-Type": "text/plain" }),
      415,
      "VA_API_UNSUPPORTED_MEDIA_TYPE",
    );
    const readOnly = await call("POST", "/api/users", ADMIN, JSON.stringify({ login: "dave", tokens: ["dave-token-00000001"] }), json);
    expectCode(readOnly, 409, "VA_API_CONFLICT");
    expect(readOnly.json.error).to.match(/main configuration/);
    expectCode(await call("GET", "/api/channels", ADMIN), 500, "VA_API_INTERNAL");
    expectCode(await call("POST", "/api/webhooks/test", ADMIN, '{"webhook":"nope"}', json), 404, "VA_API_WEBHOOK_NOT_FOUND");
    expectCode(await call("DELETE", "/api/sessions/x", TEST_VIEWER_TOKEN), 403, "VA_API_FORBIDDEN_ROLE");
  });

  it("403 for a console cookie without its CSRF header", async () => {
    const signIn = await call("POST", "/api/console/sign-in", null, JSON.stringify({ credential: ADMIN }), {
      "Content-Type": "application/json",
    });
    expect(signIn.status).to.equal(200);
    const cookie = String(signIn.headers["set-cookie"]).split(";")[0]!;
    expectCode(await call("POST", "/api/revocations", null, '{"user":"carol"}', { Cookie: cookie }), 403, "VA_API_CSRF_MISSING");
  });

  it("429 for failures while the client is banned (last: the ban lasts past this file's other tests)", async () => {
    let answer: Answer | undefined;
    for (let i = 0; i < 11; i++) answer = await call("GET", "/api/health", `wrong-credential-${i}`);
    expectCode(answer!, 429, "VA_API_BANNED");
  });

  it("400 for an explain of a URL or an address that is no play", async () => {
    const explain = (body: Record<string, unknown>) =>
      call("POST", "/api/explain", ADMIN, JSON.stringify(body), { "Content-Type": "application/json" });
    expectCode(await explain({ url: "ftp://h/live/test", ip: "127.0.0.1" }), 400, "VA_API_EXPLAIN_BAD_URL");
    expectCode(await explain({ url: "rtmp://h/live/test", ip: "nowhere" }), 400, "VA_API_EXPLAIN_BAD_IP");
  });

  it("every code of the closed list was answered above, except the one only Redis can cause", () => {
    // VA_API_UNAVAILABLE (Redis unreachable) is answered in test/cluster/cluster-edges.integration.test.ts.
    expect([...seen].sort()).to.deep.equal(API_ERROR_CODES.filter((c) => c !== "VA_API_UNAVAILABLE").sort());
  });
});
