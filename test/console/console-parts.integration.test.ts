import { expect } from "chai";
import http from "node:http";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import { pluginConfigSchema, type PluginConfig } from "../../plugin/src/plugin-config-schema.js";
import { buildViewerAuth, type ViewerAuth } from "../../plugin/src/viewer-auth.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";
import { TEST_API_TOKEN } from "../helpers/api-tokens.js";
import { waitUntil } from "../helpers/wait-for.js";
import { apiFetch } from "../helpers/openapi-check.js";

describe("console routes over real HTTP (in-process plugin with its API)", function () {
  this.timeout(30_000);
  const TOKEN = TEST_API_TOKEN;
  let auth: ViewerAuth;
  let base: string;
  before(async () => {
    const config = parseConfig(pluginConfigSchema, { api: { enabled: true, port: 0, token: TOKEN } }) as PluginConfig;
    auth = buildViewerAuth(config, { logger: createCapturingLogger().logger });
    await auth.start();
    base = `http://127.0.0.1:${auth.api!.port}`;
  });
  after(async () => auth?.detach());

  it("streams a snapshot, then opened, playing, ended and byte counters as Server-Sent Events", async () => {
    let bytes = 0;
    const open = () =>
      auth.sessions.open({
        protocol: "http-flv",
        app: "live",
        channel: "test",
        ip: "10.0.0.1",
        userAgent: "<b>ua</b>",
        transport: { bytesOut: () => bytes, close() {} },
      });
    const first = open();
    const events: { event: string; data: any }[] = [];
    const req = http.get(`${base}/api/events`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    const response = await new Promise<http.IncomingMessage>((resolve) => req.once("response", resolve));
    expect(response.headers["content-type"]).to.match(/^text\/event-stream/);
    let buffer = "";
    response.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("utf8");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.+)$/m.exec(block)?.[1];
        const data = /^data: (.+)$/m.exec(block)?.[1];
        if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
      }
    });
    const until = (what: string, check: () => boolean) =>
      waitUntil(() => `${what}: ${JSON.stringify(events.map((e) => e.event))}`, check, 15_000, 50);
    await until("snapshot", () => events.length >= 1);
    expect(events[0]!.event).to.equal("snapshot");
    const snapshot = events[0]!.data as { fields: string[]; rows: unknown[][] };
    expect(snapshot.rows).to.have.length(1);
    const row = Object.fromEntries(snapshot.fields.map((f, i) => [f, snapshot.rows[0]![i]]));
    expect(row).to.include({
      id: first.id,
      protocol: "http-flv",
      app: "live",
      channel: "test",
      userAgent: "<b>ua</b>",
      state: "checking",
      name: null,
      userId: null,
      bytesOut: 0,
    });
    const second = open();
    auth.sessions.admit(second, { identity: { userId: "alice" }, request: undefined });
    bytes = 4096;
    await until("bytes", () => events.some((e) => e.event === "bytes"));
    auth.sessions.end(second, "viewer-left");
    await until("ended", () => events.some((e) => e.event === "ended"));
    req.destroy();
    const names = events.map((e) => e.event);
    expect(names.slice(0, 3)).to.deep.equal(["snapshot", "opened", "playing"]);
    expect(events.find((e) => e.event === "playing")!.data).to.include({ id: second.id, userId: "alice", userAgent: "<b>ua</b>" });
    expect(events.find((e) => e.event === "bytes")!.data.sessions).to.deep.include.members([
      [first.id, 4096],
      [second.id, 4096],
    ]);
    expect(events.find((e) => e.event === "ended")!.data).to.deep.equal({ id: second.id, reason: "viewer-left" });
    auth.sessions.end(first, "viewer-left");
  });

  it("signs in only with a JSON credential, and a cookie call that changes something needs the CSRF header", async () => {
    const signIn = (body: string, type = "application/json") =>
      apiFetch(`${base}/api/console/sign-in`, { method: "POST", headers: { "Content-Type": type }, body });
    expect((await signIn(`credential=${TOKEN}`, "application/x-www-form-urlencoded")).status, "a plain form cannot sign in").to.equal(415);
    expect((await signIn("{not json")).status).to.equal(400);
    expect((await signIn(JSON.stringify({ credential: "wrong-credential" }))).status).to.equal(401);
    const ok = await signIn(JSON.stringify({ credential: TOKEN }));
    expect(ok.status).to.equal(200);
    const cookie = ok.headers.get("set-cookie")!.split(";")[0]!;
    const { csrf } = (await ok.json()) as { csrf: string };
    expect((await apiFetch(`${base}/api/sessions`, { headers: { Cookie: cookie } })).status).to.equal(200);
    const revoke = (headers: Record<string, string>) =>
      apiFetch(`${base}/api/sessions/revoke`, {
        method: "POST",
        headers: { Cookie: cookie, "Content-Type": "application/json", ...headers },
        body: JSON.stringify({ token: "some-token-123" }),
      });
    expect((await revoke({})).status).to.equal(403);
    expect((await revoke({ "X-CSRF-Token": "guess" })).status).to.equal(403);
    expect((await revoke({ "X-CSRF-Token": csrf })).status).to.equal(200);
    expect(
      auth.revocations.list().map((r) => r.kind),
      "the token is revoked from now on",
    ).to.include("token");
    const signOut = await apiFetch(`${base}/api/console/sign-out`, { method: "POST", headers: { Cookie: cookie, "X-CSRF-Token": csrf } });
    expect(signOut.headers.get("set-cookie")).to.include("Max-Age=0");
    expect((await apiFetch(`${base}/api/sessions`, { headers: { Cookie: cookie } })).status).to.equal(401);
  });

  it("the preview link needs a securetoken secret and the HLS port, and names a channel exactly", async () => {
    const get = async (path: string) => {
      const r = await apiFetch(`${base}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      return [r.status, (await r.json()) as Record<string, unknown>] as const;
    };
    expect((await get("/api/console/preview?channel=../etc"))[0]).to.equal(400);
    expect((await get("/api/console/preview?channel=live/test"))[0], "no HLS server in a plain plugin").to.equal(404);
    expect((await get("/api/decisions?limit=0"))[0]).to.equal(400);
    expect((await get("/api/decisions?verdict=deny"))[0]).to.equal(200);
    expect((await get("/api/viewers/history"))[1]).to.have.keys("now", "history");
  });
});
