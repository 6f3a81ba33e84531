import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAX_JSON_DEPTH } from "../../plugin/src/core/api-route.js";
import { startNms, type NmsInstance } from "../helpers/nms-instance.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { TEST_API_TOKEN, TEST_PREVIOUS_API_TOKEN } from "../helpers/api-tokens.js";
import { apiFetch } from "../helpers/openapi-check.js";

const ADMIN = TEST_API_TOKEN;
const PREVIOUS = TEST_PREVIOUS_API_TOKEN;

describe("management API throttle: the right credential always works (real API on port 0)", function () {
  this.timeout(30000);
  const clock = new ManualClock(Date.parse("2026-06-01T00:00:00Z"));
  let nms: NmsInstance;
  let dir: string;
  const call = (path: string, token: string | null, init: RequestInit = {}) =>
    apiFetch(`http://127.0.0.1:${nms.auth.api!.port}${path}`, {
      ...init,
      headers: { ...(token === null ? {} : { Authorization: `Bearer ${token}` }), ...(init.headers ?? {}) },
    });
  const status = async (path: string, token: string | null) => (await call(path, token)).status;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "va-api-throttle-"));
    const file = join(dir, "users.yaml");
    writeFileSync(file, "users:\n  - { login: alice, tokens: [alice-throttle-token-1], packages: ['*'] }\n");
    nms = await startNms(
      { auth: { usersFile: file }, api: { enabled: true, port: 0, token: ADMIN, previousTokens: [PREVIOUS] } },
      { clock },
    );
    await nms.auth.ready;
  });
  after(async () => {
    await nms?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("after 12 wrong credentials from loopback the right one answers 200; wrong ones get 429 while banned", async () => {
    const answers: number[] = [];
    for (let i = 0; i < 12; i++) answers.push(await status("/api/health", `wrong-credential-${i}`));
    expect(answers).to.deep.equal([...new Array(10).fill(401), 429, 429]);
    expect(nms.logs.events("api.client_banned")).to.have.length(1);
    expect(nms.logs.events("api.client_banned")[0]).to.include({ ip: "127.0.0.1", failures: 10, banSec: 300, level: 40 });

    expect(await status("/api/health", ADMIN), "the current token while banned").to.equal(200);
    expect(await status("/api/health", PREVIOUS), "a previous token while banned").to.equal(200);
    expect(await status("/api/sessions", ADMIN)).to.equal(200);
    const refused = await call("/api/health", "still-wrong-credential");
    expect(refused.status).to.equal(429);
    expect(refused.headers.get("retry-after")).to.equal("300");
    expect(await status("/api/health", null), "no credential at all").to.equal(429);
    // Failures while banned are not counted again: no second ban line, no longer ban.
    expect(nms.logs.events("api.client_banned")).to.have.length(1);
  });

  it("the ban expires with the injected clock", async () => {
    clock.advance(299_000);
    const late = await call("/api/health", "wrong-credential-late");
    expect(late.status).to.equal(429);
    expect(late.headers.get("retry-after")).to.equal("1");
    clock.advance(1_000);
    expect(await status("/api/health", "wrong-credential-after")).to.equal(401);
    expect(await status("/api/health", ADMIN)).to.equal(200);
  });

  it("never logs a presented credential", () => {
    const text = nms.logs.raw.join("\n");
    for (const secret of [ADMIN, PREVIOUS, "wrong-credential", "still-wrong-credential"]) expect(text).to.not.include(secret);
  });

  describe("deeply nested JSON bodies", () => {
    const post = (path: string, body: string) =>
      call(path, ADMIN, { method: "POST", body, headers: { "Content-Type": "application/json" } });
    const nested = (depth: number, inner = "1") => "[".repeat(depth) + inner + "]".repeat(depth);

    it("answers 400 with a precise message for 30,000 nested arrays or 60,000 open ones, on every route that reads JSON", async () => {
      // The API reads at most 64 KiB of body, so these are about as deep as a body can go.
      for (const [path, body] of [
        ["/api/users", `{"login":"deep","packages":["*"],"comment":${nested(30_000)}}`],
        ["/api/users", nested(30_000)],
        ["/api/sessions/revoke", `{"token":${nested(30_000)}}`],
        ["/api/sessions/revoke", "[".repeat(60_000)],
        ["/api/users/alice", "{".repeat(60_000)],
      ] as const) {
        const method = path === "/api/users/alice" ? "PATCH" : "POST";
        const response = await call(path, ADMIN, { method, body, headers: { "Content-Type": "application/json" } });
        expect(response.status, `${method} ${path}`).to.equal(400);
        const { error } = (await response.json()) as { error: string };
        expect(error).to.match(
          new RegExp(`^the body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels \\(at character \\d+\\)$`),
        );
      }
      expect(nms.logs.events("api.failed"), "no internal error").to.deep.equal([]);
      expect(await status("/api/health", ADMIN)).to.equal(200);
    });

    it("counts depth outside strings only, and accepts up to 32 levels", async () => {
      const brackets = "[".repeat(100);
      const ok = await post("/api/sessions/revoke", JSON.stringify({ token: `x${brackets}` }));
      expect(ok.status, "brackets inside a string are not nesting").to.equal(200);
      const escaped = await post("/api/sessions/revoke", `{"token":"a\\"${brackets}"}`);
      expect(escaped.status, "an escaped quote does not end the string").to.equal(200);
      const atLimit = await post("/api/sessions/revoke", `{"token":${nested(MAX_JSON_DEPTH - 1, '"x"')}}`);
      expect(atLimit.status).to.equal(400);
      expect(((await atLimit.json()) as { error: string }).error).to.equal(
        'the body must be {"token": "…"}, {"sign": "…"}, {"user": "…"} or {"ip": "…"}, optionally with "ttlSec"',
      );
      const over = await post("/api/sessions/revoke", `{"token":${nested(MAX_JSON_DEPTH, '"x"')}}`);
      expect(((await over.json()) as { error: string }).error).to.equal(
        `the body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels (at character ${9 + MAX_JSON_DEPTH - 1})`,
      );
    });
  });
});
