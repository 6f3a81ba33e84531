import { expect } from "chai";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBundledServer, waitFor, type RunningServer } from "../helpers/bundled-server.js";
import { hasFfmpeg, playWithFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { TEST_API_TOKEN } from "../helpers/api-tokens.js";
import { apiFetch } from "../helpers/openapi-check.js";

const ADMIN = TEST_API_TOKEN;
const USERS_FILE = `# subscribers, managed by the billing export and the API
users:
  # the reseller account
  - login: alice
    tokens: [alice-token-0001]
    packages: [basic]
    comment: reseller
`;

describe("users through the management API (real server, real players)", function () {
  this.timeout(120000);
  let run: RunningServer;
  let dir: string;
  let file: string;
  const api = async (method: string, path: string, body?: unknown) => {
    const init: RequestInit = { method, headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" } };
    if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
    const response = await apiFetch(`http://127.0.0.1:${run.server.ports.api}${path}`, init);
    return { status: response.status, json: (await response.json()) as Record<string, any> };
  };
  const playingOf = async (login: string) =>
    ((await api("GET", `/api/sessions?user=${login}`)).json.sessions as { id: string; state: string; protocol: string }[]).filter(
      (s) => s.state === "playing",
    );

  before(async function () {
    if (!hasFfmpeg) this.skip();
    dir = mkdtempSync(join(tmpdir(), "va-users-api-"));
    file = join(dir, "users.yaml");
    writeFileSync(file, USERS_FILE, { mode: 0o600 });
    run = await startBundledServer({
      auth: { usersFile: file, packages: { basic: ["test"], news: ["news"] } },
      api: { enabled: true, port: 0, token: ADMIN },
    });
    await waitFor("HLS output", () => (existsSync(join(run.dataDir, "hls/live/test/index.m3u8")) ? true : undefined));
  });
  after(async () => {
    await run?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("lists users without passwords and with masked tokens", async () => {
    const { status, json } = await api("GET", "/api/users");
    expect(status).to.equal(200);
    expect(json.editable).to.equal(true);
    expect(json.users).to.deep.equal([
      {
        login: "alice",
        password: "none",
        tokens: ["alic…<redacted>"],
        ips: [],
        expires: null,
        maxConnections: null,
        packages: ["basic"],
        enabled: true,
        comment: "reseller",
      },
    ]);
    expect((await api("GET", "/api/users/alice")).json.user.login).to.equal("alice");
    expect((await api("GET", "/api/users/nobody")).status).to.equal(404);
  });

  it("creates a user who can play at once; the password is stored hashed and the file keeps its comments", async () => {
    const created = await api("POST", "/api/users", {
      login: "bob",
      password: "bob-password-1",
      tokens: ["bob-token-00001"],
      packages: ["basic"],
      maxConnections: 2,
    });
    expect(created.status).to.equal(201);
    expect(created.json.user).to.include({ login: "bob", password: "scrypt", maxConnections: 2 });
    const text = readFileSync(file, "utf8");
    expect(text.startsWith(USERS_FILE), "the entries already there stay exactly as written").to.equal(true);
    expect(text).to.match(/password: scrypt\$16384\$8\$1\$/);
    expect(text).to.not.include("bob-password-1");
    expect(statSync(file).mode & 0o777, "the file keeps its permissions").to.equal(0o600);
    // No wait for the file watcher: the new user is in force when the API answers.
    const playlist = await httpGetFor(`${run.httpBase}/live/test/index.m3u8?auth=bob:bob-password-1`, 2000);
    expect(playlist.status).to.equal(200);
    expect((await httpGetFor(`${run.httpBase}/live/test/index.m3u8?auth=bob:wrong-password`, 2000)).status).to.equal(403);
    expect(run.logs.events("users.changed").at(-1)).to.include({ action: "create", login: "bob", users: 2 });
  });

  it("refuses bad input with every issue and its key path, and conflicts with 409", async () => {
    const invalid = await api("POST", "/api/users", {
      login: "carol",
      packages: ["basic"],
      ips: ["10.0.0.300"],
      maxConnections: 0,
      colour: "red",
    });
    expect(invalid.status).to.equal(400);
    const paths = (invalid.json.issues as { path: string }[]).map((i) => i.path).sort();
    expect(paths).to.deep.equal(["colour", "ips[0]", "maxConnections"]);
    const unknownPackage = await api("POST", "/api/users", { login: "carol", tokens: ["carol-token-0001"], packages: ["gold"] });
    expect(unknownPackage.status).to.equal(409);
    expect(unknownPackage.json.issues[0].message).to.match(/is not a package in auth\.packages/);
    const duplicateToken = await api("POST", "/api/users", { login: "carol", tokens: ["alice-token-0001"], packages: ["basic"] });
    expect(duplicateToken.status).to.equal(409);
    expect(duplicateToken.json.issues[0]).to.include({ message: 'is also a token of user "alice"', value: "<redacted>" });
    expect((await api("POST", "/api/users", { login: "alice", tokens: ["x-token-00001"], packages: ["basic"] })).status).to.equal(409);
    expect((await api("POST", "/api/users", "{not json")).status).to.equal(400);
    expect((await api("POST", "/api/users", "x".repeat(70 * 1024))).status).to.equal(413);
    expect((await api("PUT", "/api/users/alice", { login: "mallory", packages: ["basic"] })).status).to.equal(400);
    expect((await api("PATCH", "/api/users/nobody", { comment: "x" })).status).to.equal(404);
    expect(readFileSync(file, "utf8")).to.not.include("carol");
  });

  it("concurrent creates all land: no edit overwrites another", async () => {
    const logins = ["c1", "c2", "c3", "c4", "c5"];
    const results = await Promise.all(
      logins.map((login) => api("POST", "/api/users", { login, password: `${login}-password-x`, packages: ["basic"] })),
    );
    expect(results.map((r) => r.status)).to.deep.equal([201, 201, 201, 201, 201]);
    const listed = ((await api("GET", "/api/users")).json.users as { login: string }[]).map((u) => u.login);
    expect(listed).to.include.members(logins);
    for (const login of logins) expect(readFileSync(file, "utf8")).to.include(`login: ${login}`);
  });

  it("a patch that takes the channel away re-checks the user's playing sessions at once and cuts them", async () => {
    const flv = httpGetFor(`${run.httpBase}/live/test.flv?token=bob-token-00001`, 30000);
    const flvSession = await waitFor("bob playing FLV", async () => (await playingOf("bob")).find((s) => s.protocol === "http-flv"));
    const patchedAt = Date.now();
    const patched = await api("PATCH", "/api/users/bob", { packages: ["news"], maxConnections: null });
    expect(patched.status).to.equal(200);
    expect(patched.json.user).to.include({ maxConnections: null });
    // The HLS session opened by the test above (not idle yet) is cut as well.
    expect(patched.json.closedSessions).to.include(flvSession.id);
    expect(await playingOf("bob")).to.deep.equal([]);
    const result = await flv;
    expect(Date.now() - patchedAt, "the FLV viewer is cut within 1 s").to.be.lessThan(1000);
    expect(result.bytes).to.be.greaterThan(0);
    const ended = run.logs
      .events("session.end")
      .map((l) => l.session as { name?: string; reason: string })
      .filter((s) => s.name === "bob");
    expect(ended.at(-1)?.reason).to.equal("denied-on-recheck");
    expect(readFileSync(file, "utf8")).to.not.match(/maxConnections/);
  });

  it("disabling a user closes their sessions on every protocol as revoked", async () => {
    await api("PATCH", "/api/users/bob", { packages: ["basic"] });
    const rtmp = playWithFfmpeg(`${run.rtmpBase}/live/test?token=bob-token-00001`, { seconds: 30 });
    const playlist = await httpGetFor(`${run.httpBase}/live/test/index.m3u8?auth=bob:bob-password-1`, 2000);
    const key = /vas=([A-Za-z0-9_-]+)/.exec(playlist.body.toString())![1]!;
    await waitFor("bob on RTMP and HLS", async () => ((await playingOf("bob")).length === 2 ? true : undefined));
    const disabled = await api("PATCH", "/api/users/bob", { enabled: false });
    expect(disabled.json.closedSessions).to.have.length(2);
    await rtmp;
    expect((await httpGetFor(`${run.httpBase}/live/test/index.m3u8?vas=${key}`, 2000)).status).to.equal(403);
    expect((await httpGetFor(`${run.httpBase}/live/test/index.m3u8?token=bob-token-00001`, 2000)).status).to.equal(403);
    const reasons = run.logs
      .events("session.end")
      .map((l) => l.session as { name?: string; reason: string })
      .filter((s) => s.name === "bob")
      .map((s) => s.reason);
    expect(reasons.slice(-2)).to.deep.equal(["revoked", "revoked"]);
  });

  it("revokes every session that came in with one token, whoever's it is", async () => {
    const flv = httpGetFor(`${run.httpBase}/live/test.flv?token=alice-token-0001`, 30000);
    await httpGetFor(`${run.httpBase}/live/test/index.m3u8?token=alice-token-0001`, 2000);
    await waitFor("alice on FLV and HLS", async () => ((await playingOf("alice")).length === 2 ? true : undefined));
    expect((await api("POST", "/api/sessions/revoke", { token: "not-a-used-token" })).json.closed).to.deep.equal([]);
    expect((await api("POST", "/api/sessions/revoke", {})).status).to.equal(400);
    const revoked = await api("POST", "/api/sessions/revoke", { token: "alice-token-0001" });
    expect(revoked.json.closed).to.have.length(2);
    await flv;
    expect(await playingOf("alice")).to.deep.equal([]);
    // The token stays refused, not only its sessions of the moment, until the revocation is lifted.
    expect((await httpGetFor(`${run.httpBase}/live/test.flv?token=alice-token-0001`, 1000)).status).to.equal(403);
    expect((await api("DELETE", "/api/revocations/token/alice-token-0001")).status).to.equal(200);
    expect((await api("DELETE", "/api/revocations/token/alice-token-0001")).status).to.equal(404);
  });

  it("deleting a user closes their sessions and removes them from the file", async () => {
    await api("PATCH", "/api/users/alice", { comment: "closing the account" });
    const flv = httpGetFor(`${run.httpBase}/live/test.flv?token=alice-token-0001`, 30000);
    await waitFor("alice playing", async () => ((await playingOf("alice")).length === 1 ? true : undefined));
    const deleted = await api("DELETE", "/api/users/alice");
    expect(deleted.status).to.equal(200);
    expect(deleted.json.closedSessions).to.have.length(1);
    await flv;
    expect((await api("GET", "/api/users/alice")).status).to.equal(404);
    expect((await api("DELETE", "/api/users/alice")).status).to.equal(404);
    const text = readFileSync(file, "utf8");
    expect(text).to.not.include("login: alice");
    expect(text).to.include("# subscribers, managed by the billing export and the API");
    expect((await httpGetFor(`${run.httpBase}/live/test.flv?token=alice-token-0001`, 1000)).status).to.equal(403);
  });

  it("a users file broken by hand blocks API edits (409 with its issues) and keeps the users in force", async () => {
    const good = readFileSync(file, "utf8");
    writeFileSync(file, `${good}  - login: [broken\n`);
    const refused = await api("POST", "/api/users", { login: "dave", password: "dave-password-1", packages: ["basic"] });
    expect(refused.status).to.equal(409);
    expect(refused.json.issues[0].message).to.match(/^YAML:/);
    expect((await api("GET", "/api/users/c1")).status).to.equal(200);
    writeFileSync(file, good);
  });
});
