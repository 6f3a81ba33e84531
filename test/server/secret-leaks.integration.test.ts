import { expect } from "chai";
import { spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBundledServer, testChannel, waitFor, type RunningServer } from "../helpers/bundled-server.js";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { freePort } from "../helpers/free-port.js";
import { auditSecrets } from "../helpers/log-audit.js";
import { spawnLogged } from "../helpers/spawned-process.js";
import type { ChannelStatus } from "../../server/src/channels/channel-runner.js";
import { TEST_API_TOKEN, TEST_PREVIOUS_API_TOKEN } from "../helpers/api-tokens.js";
import { apiFetch } from "../helpers/openapi-check.js";

// Every secret the run's configuration holds. None may appear in any log line or API answer.
const SOURCE_PASSWORD = "pa55word-of-the-origin";
const SOURCE_APIKEY = "origin-apikey-4f1c9a";
const SOURCE_TOKEN = "origin-token-77e0b2";
const API_TOKEN = TEST_API_TOKEN;
const OLD_API_TOKEN = TEST_PREVIOUS_API_TOKEN;
const SIGNING_SECRET = "securetoken-signing-secret-5e";
const USER_TOKEN = "viewer-token-9b8a7c6d";
const USER_PASSWORD = "viewer-password-1f2e";
const BACKEND_PASSWORD = "backend-password-6a5b";
const BACKEND_KEY = "backend-key-0d9c8b";
const SECRETS = {
  SOURCE_PASSWORD,
  SOURCE_APIKEY,
  SOURCE_TOKEN,
  API_TOKEN,
  OLD_API_TOKEN,
  SIGNING_SECRET,
  USER_TOKEN,
  USER_PASSWORD,
  BACKEND_PASSWORD,
  BACKEND_KEY,
};

describe("secrets in the bundled server's logs and API answers", function () {
  this.timeout(90000);
  let run: RunningServer;
  let closedPort: number;
  /** Every API answer body of the run, with the route it came from. */
  const answers: { path: string; body: string }[] = [];
  const api = async (path: string, token: string | null = API_TOKEN) => {
    const response = await apiFetch(`http://127.0.0.1:${run.server.ports.api}${path}`, {
      headers: token === null ? {} : { Authorization: `Bearer ${token}` },
    });
    const body = await response.text();
    answers.push({ path, body });
    return { status: response.status, body };
  };

  before(async function () {
    if (!hasFfmpeg) this.skip();
    auditSecrets(...Object.values(SECRETS));
    closedPort = await freePort();
    // A source that fails at once, so ffmpeg's error line quotes the URL with every credential in it.
    const sourceUrl = `http://origin-user:${SOURCE_PASSWORD}@127.0.0.1:${closedPort}/live/x.m3u8?apikey=${SOURCE_APIKEY}&token=${SOURCE_TOKEN}`;
    run = await startBundledServer({
      log: { level: "trace" },
      channels: [{ ...testChannel("leaky"), source: { type: "url", url: sourceUrl }, transcode: { mode: "copy" } }],
      api: { enabled: true, port: 0, token: API_TOKEN, previousTokens: [OLD_API_TOKEN] },
      auth: {
        users: [{ login: "viewer", password: USER_PASSWORD, tokens: [USER_TOKEN], packages: ["*"] }],
        securetoken: { secrets: [SIGNING_SECRET] },
        backend: {
          type: "http-request",
          url: `http://checker:${BACKEND_PASSWORD}@127.0.0.1:${closedPort}/check?key=${BACKEND_KEY}`,
          connectTimeoutMs: 500,
        },
      },
    });
  });
  after(async () => run?.stop());

  it("a failing channel reports ffmpeg's error line in /api/channels and channel.process_down with its credentials removed", async () => {
    // The ingest fails at once (connection refused); the packager after its 10 s read timeout on the empty stream.
    await waitFor(
      "both processes of the channel to report an error",
      () => {
        const status = run.server.channelStatus()[0]!;
        return status.ingest.lastError !== null && status.packager.lastError !== null ? status : undefined;
      },
      40000,
    );
    const { status, body } = await api("/api/channels");
    expect(status).to.equal(200);
    const [channel] = (JSON.parse(body) as { channels: ChannelStatus[] }).channels;
    // The lines still say what went wrong and where: only the credentials are gone.
    expect(channel!.ingest.lastError).to.equal(
      `http://<redacted>@127.0.0.1:${closedPort}/live/x.m3u8?apikey=<redacted>&token=<redacted>: Connection refused`,
    );
    // The packager's URL carries no credential at all (its pid is its pass).
    expect(channel!.packager.lastError).to.match(new RegExp(`^rtmp://127\\.0\\.0\\.1:${run.server.ports.rtmp}/live/leaky: `));
    const down = run.logs.events("channel.process_down").map((l) => l.process);
    expect(down).to.include.members(["leaky/ingest", "leaky/packager"]);
  });

  it("viewer requests, backend failures and every API route leave no secret in any log line or answer", async () => {
    // Viewers with and without credentials: the users step, the backend (unreachable) and the HLS gate all log.
    await httpGetFor(`${run.httpBase}/live/leaky/index.m3u8?token=${USER_TOKEN}`, 1000);
    await httpGetFor(`${run.httpBase}/live/leaky/index.m3u8?auth=viewer:${USER_PASSWORD}`, 1000);
    await httpGetFor(`${run.httpBase}/live/leaky/index.m3u8?token=wrong-token-of-a-stranger`, 1000);
    await httpGetFor(`${run.httpBase}/live/leaky.flv?token=wrong-token-of-a-stranger`, 1000);
    expect(run.logs.events("backend.unreachable").length, "the backend step ran").to.be.greaterThan(0);
    for (const path of [
      "/api/health",
      "/api/channels",
      "/api/sessions",
      "/api/viewers",
      "/api/users",
      "/api/users/viewer",
      "/api/stats/channels",
      "/api/stats/users",
      "/api/stats/sessions.csv",
      "/metrics",
      "/api/nope",
    ]) {
      expect((await api(path)).status, path).to.be.oneOf([200, 404]);
    }
    expect((await api("/api/health", OLD_API_TOKEN)).status).to.equal(200);
    expect((await api("/api/channels", "wrong-api-token-0000")).status).to.equal(401);
    expect((await api("/api/channels", null)).status).to.equal(401);

    const logText = run.logs.raw.join("\n");
    expect(run.logs.raw.length, "the run logged").to.be.greaterThan(20);
    const hits: string[] = [];
    for (const [name, secret] of Object.entries(SECRETS)) {
      if (logText.includes(secret)) hits.push(`${name} in the logs`);
      for (const answer of answers) if (answer.body.includes(secret)) hits.push(`${name} in the answer of ${answer.path}`);
    }
    expect(hits).to.deep.equal([]);
  });
});

describe("secrets in the console output of `npm start`", function () {
  this.timeout(90000);
  let dir: string;
  let child: ChildProcess | undefined;

  before(function () {
    if (!hasFfmpeg) this.skip();
    dir = mkdtempSync(join(tmpdir(), "va-secrets-"));
  });
  after(() => {
    if (child?.exitCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  /** The packager's command line, as the server handed it to its ffmpeg child. */
  function packagerCommandLineOf(serverPid: number): string | undefined {
    const children = spawnSync("pgrep", ["-P", String(serverPid)], { encoding: "utf8" })
      .stdout.split("\n")
      .filter((p) => p !== "");
    for (const pid of children) {
      try {
        const line = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
        if (/ -i rtmp:\/\/\S+\/live\/leaky /.test(line)) return line;
      } catch {
        // the process ended while we looked
      }
    }
    return undefined;
  }

  it("the real logger and NMS's own console log (at trace) hold no secret of the configuration, the source or the run", async () => {
    const closedPort = await freePort();
    const file = join(dir, "config.yaml");
    writeFileSync(
      file,
      [
        "log: { level: trace, nmsLevel: trace }",
        `server: { rtmpPort: 0, httpPort: 0, dataDir: ${JSON.stringify(join(dir, "data"))}, restartInitialMs: 300, restartMaxMs: 2000 }`,
        `api: { enabled: true, port: 0, token: ${API_TOKEN} }`,
        `auth: { users: [{ login: viewer, password: ${USER_PASSWORD}, tokens: [${USER_TOKEN}], packages: ["*"] }], securetoken: { secrets: [${SIGNING_SECRET}] } }`,
        "channels:",
        `  - { id: leaky, source: { type: url, url: "http://origin-user:${SOURCE_PASSWORD}@127.0.0.1:${closedPort}/x.m3u8?apikey=${SOURCE_APIKEY}&token=${SOURCE_TOKEN}" }, transcode: { mode: copy } }`,
        "",
      ].join("\n"),
    );
    const { proc, output } = spawnLogged(process.execPath, ["--import", "tsx", "server/src/main.ts", "--config", file]);
    child = proc;
    const started = await waitFor("server.started", () =>
      output()
        .split("\n")
        .find((l) => l.includes('"event":"server.started"')),
    );
    const { httpPort } = JSON.parse(started) as { httpPort: number };
    const packagerLine = await waitFor("the packager's command line", () => packagerCommandLineOf(proc.pid!));
    expect(packagerLine, "no credential in the packager's command line").to.not.match(/rtmp:\/\/\S*[?&]/);
    await httpGetFor(`http://127.0.0.1:${httpPort}/live/leaky/index.m3u8?token=${USER_TOKEN}`, 1000);
    await httpGetFor(`http://127.0.0.1:${httpPort}/live/leaky.flv?auth=viewer:${USER_PASSWORD}`, 1000);
    await waitFor(
      "both processes down with their error lines",
      () =>
        output().includes('"process":"leaky/ingest"') && output().includes('"process":"leaky/packager","lastError"') ? true : undefined,
      40000,
    );
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill("SIGTERM");
    await exited;

    expect(output()).to.include("Connection refused");
    const hits = Object.entries(SECRETS)
      .filter(([, secret]) => output().includes(secret))
      .map(([name]) => name);
    expect(hits).to.deep.equal([]);
  });
});
