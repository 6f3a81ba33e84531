import { expect } from "chai";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { startBundledServer, waitFor, type RunningServer } from "../helpers/bundled-server.js";
import { TEST_API_TOKEN } from "../helpers/api-tokens.js";
import { apiFetch } from "../helpers/openapi-check.js";

const TOKEN = TEST_API_TOKEN;

describe("liveness and readiness probes (/api/live, /api/ready, no credential)", function () {
  this.timeout(90000);
  let run: RunningServer;
  const get = (path: string, headers: Record<string, string> = {}) =>
    apiFetch(`http://127.0.0.1:${run.server.ports.api}${path}`, { headers });
  const ready = async () => {
    const res = await get("/api/ready");
    return { status: res.status, body: (await res.json()) as { status: string; notReady?: { app: string; id: string; state: string }[] } };
  };

  before(async function () {
    if (!hasFfmpeg) this.skip();
    run = await startBundledServer({ api: { enabled: true, port: 0, token: TOKEN } });
  });
  after(async () => run?.stop());

  it("/api/live answers 200 without a credential while /api/health still needs it", async () => {
    const live = await get("/api/live");
    expect(live.status).to.equal(200);
    expect(await live.json()).to.deep.equal({ status: "live" });
    expect((await apiFetch(`http://127.0.0.1:${run.server.ports.api}/api/live`, { method: "HEAD" })).status).to.equal(200);
    expect((await get("/api/health")).status).to.equal(401);
    expect((await get("/api/health", { Authorization: `Bearer ${TOKEN}` })).status).to.equal(200);
    expect((await get("/api/live", { Authorization: "Bearer wrong-token-wrong" })).status, "a probe ignores any credential").to.equal(200);
  });

  it("/api/ready: 200 once every channel is up, 503 naming the channel while it is down, 200 again after its restart", async () => {
    await waitFor("ready", async () => ((await ready()).status === 200 ? true : undefined), 30000);
    expect((await ready()).body).to.deep.equal({ status: "ready" });
    const channel = run.server.channels[0]!;
    const pid = channel.ingest.pid!;
    process.kill(pid, "SIGKILL");
    const down = await waitFor(
      "not ready",
      async () => {
        const r = await ready();
        return r.status === 503 ? r.body : undefined;
      },
      10000,
    );
    expect(down.status).to.equal("not-ready");
    expect(down.notReady).to.have.length(1);
    expect(down.notReady![0]).to.include({ app: "live", id: "test" });
    expect(Object.keys(down.notReady![0]!).sort(), "names and states only: no error lines without a credential").to.deep.equal([
      "app",
      "id",
      "state",
    ]);
    await waitFor("ready again after the restart", async () => ((await ready()).status === 200 ? true : undefined), 30000);
  });
});
