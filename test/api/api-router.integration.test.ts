import { expect } from "chai";
import { request } from "node:http";
import { startNms, type NmsInstance } from "../helpers/nms-instance.js";
import { rawStatusLine } from "../helpers/raw-http.js";
import { TEST_API_TOKEN } from "../helpers/api-tokens.js";
import { contractProblems } from "../helpers/openapi-check.js";

const ADMIN = TEST_API_TOKEN;

/** One request with node:http (fetch cannot send a body with HEAD or a path with `..`); resolves with status and headers. */
function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Buffer,
): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.once("end", () => {
        const status = res.statusCode ?? 0;
        const problems = contractProblems({ method, path, status, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") });
        if (problems.length > 0) return reject(new Error(`the answer breaks the OpenAPI document:\n  ${problems.join("\n  ")}`));
        resolve({ status, headers: res.headers });
      });
    });
    req.once("error", reject);
    req.end(body);
  });
}

describe("management API: one route table (real API on port 0)", function () {
  this.timeout(30000);
  let nms: NmsInstance;
  const call = (method: string, path: string, token: string | null, body?: Buffer) =>
    send(nms.auth.api!.port!, method, path, token === null ? {} : { Authorization: `Bearer ${token}` }, body);

  before(async () => {
    nms = await startNms({ api: { enabled: true, port: 0, token: ADMIN } });
    await nms.auth.ready;
  });
  after(async () => nms?.stop());

  it("answers the open rows without a credential: the probes (GET and HEAD), the console's files and its session check", async () => {
    expect((await call("GET", "/api/live", null)).status).to.equal(200);
    expect((await call("HEAD", "/api/live", null)).status).to.equal(200);
    expect((await call("GET", "/api/ready?x=1", null)).status, "the query is not part of the path").to.equal(200);
    expect((await call("GET", "/console", null)).status).to.equal(301);
    expect((await call("POST", "/console/", null)).status, "the console's files answer any method themselves").to.equal(405);
    const session = await call("GET", "/api/console/session", null);
    expect(session.status).to.equal(401);
    expect(session.headers["www-authenticate"], "the console's own 401, not a counted failure").to.equal(undefined);
  });

  it("asks for the credential first on every other row and on any path no row takes (401 before 404 or 405)", async () => {
    for (const [method, path] of [
      ["GET", "/api/nope"],
      ["POST", "/api/live"],
      ["GET", "/api/health"],
      ["HEAD", "/api/console/session"],
      ["GET", "/api/events"],
      ["POST", "/api/console/sign-out"],
    ] as const) {
      const answer = await call(method, path, null);
      expect(answer.status, `${method} ${path}`).to.equal(401);
      expect(answer.headers["www-authenticate"], `${method} ${path}`).to.match(/^Bearer/);
    }
  });

  it("with the credential: 404 for a path no row knows, 405 for a known path under another method, HEAD not taken as GET by a stream", async () => {
    expect((await call("GET", "/api/nope", ADMIN)).status).to.equal(404);
    expect((await call("DELETE", "/api/health", ADMIN)).status).to.equal(405);
    expect((await call("POST", "/api/live", ADMIN)).status, "a probe's path under POST").to.equal(405);
    const head = await call("HEAD", "/api/events", ADMIN);
    expect(head.status, "the event stream has no header-only form").to.equal(405);
    expect(head.headers["content-type"]).to.match(/^application\/json/);
    expect((await call("HEAD", "/api/health", ADMIN)).status, "a reply row takes HEAD as GET").to.equal(200);
  });

  it("reads the body before it says 404 or 405: over 64 KiB is 413, and the connection is closed", async () => {
    const big = Buffer.alloc(64 * 1024 + 1, 0x20);
    const unknown = await call("POST", "/api/nope", ADMIN, big);
    expect(unknown.status).to.equal(413);
    expect(unknown.headers.connection).to.equal("close");
  });

  it("matches the path as received: a dot segment under /console/ is a console file name, never another route", async () => {
    const port = nms.auth.api!.port!;
    expect(await rawStatusLine(port, "GET /console/../api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5000)).to.match(
      /^HTTP\/1\.1 404 /,
    );
    expect(
      await rawStatusLine(port, "GET /api/../api/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5000),
      "not a probe: asks for the credential",
    ).to.match(/^HTTP\/1\.1 401 /);
  });
});
