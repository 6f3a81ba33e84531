import { expect } from "chai";
import { buildPackages, SERVER_BIN } from "../helpers/build-packages.js";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { waitFor } from "../helpers/wait-for.js";
import { freePort } from "../helpers/free-port.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { recordExternalLog } from "../helpers/log-audit.js";
import { commandOf, descendantsOf, isRunning } from "../helpers/process-tree.js";
import { TEST_API_TOKEN } from "../helpers/api-tokens.js";
import { sleep } from "../helpers/sleep.js";
import { apiFetch } from "../helpers/openapi-check.js";

/** docs/operations.md "Deploy": a stop after SIGTERM/SIGINT takes at most server.stopTimeoutMs + 5 s (10 s by default). */
const SHUTDOWN_BOUND_MS = 10_000;
/** What package.json's `bin` runs. */
const BIN = SERVER_BIN;
const API_TOKEN = TEST_API_TOKEN;
const CHANNEL =
  "  - { id: a, source: { type: testPattern, width: 160, height: 120, fps: 10 }, transcode: { mode: h264, preset: ultrafast, videoBitrateKbps: 100 } }";

/** A server process of the test: stdout and stderr apart (stdout must be JSON lines only). */
interface ServerProcess {
  proc: ChildProcess;
  stdout(): string;
  output(): string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** True for the first process of a PID namespace (its NSpid line ends in 1), as a container's entrypoint runs. */
function isPid1OfItsNamespace(pid: number): boolean {
  try {
    return /^NSpid:\s+\d+\s+1$/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false; // it ended while we looked
  }
}

/** One ledger row as the SQLite file holds it. */
interface LedgerRow {
  protocol: string;
  playing_since: number | null;
  last_activity_at: number;
  bytes_out: number;
  ended_at: number;
  end_reason: string;
}

describe("production operations: shutdown, crash, reload, logs, environment, deploy files", function () {
  this.timeout(180_000);
  let dir: string;
  const started: ChildProcess[] = [];
  const viewers: http.ClientRequest[] = [];

  before(function () {
    if (!hasFfmpeg) this.skip();
    dir = mkdtempSync(join(tmpdir(), "va-ops-"));
    buildPackages();
  });
  afterEach(() => {
    for (const viewer of viewers.splice(0)) viewer.destroy();
  });
  after(() => {
    for (const proc of started) if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): ServerProcess {
    const proc = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    started.push(proc);
    let stdout = "";
    let output = "";
    proc.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
      output += d.toString();
      recordExternalLog(d.toString());
    });
    proc.stderr!.on("data", (d: Buffer) => {
      output += d.toString();
      recordExternalLog(d.toString());
    });
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      proc.once("exit", (code, signal) => resolve({ code, signal })),
    );
    return { proc, stdout: () => stdout, output: () => output, exit };
  }

  function configFile(name: string, lines: string[]): string {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, [...lines, "channels:", CHANNEL, ""].join("\n"));
    return file;
  }

  /** The JSON log line with `event`, once it is written. */
  async function eventLine<T = Record<string, unknown>>(server: ServerProcess, event: string, timeoutMs = 60_000): Promise<T> {
    const line = await waitFor(
      event,
      () =>
        server
          .stdout()
          .split("\n")
          .find((l) => l.includes(`"event":"${event}"`)),
      timeoutMs,
    );
    return JSON.parse(line) as T;
  }

  /** An HTTP-FLV viewer that stays connected until the test ends it; counts the bytes it gets. */
  function openViewer(url: string): { bytes: () => number; ended: Promise<void> } {
    let bytes = 0;
    let resolveEnded!: () => void;
    const ended = new Promise<void>((r) => (resolveEnded = r));
    const req = http.get(url, { agent: false }, (res) => {
      res.on("data", (chunk: Buffer) => (bytes += chunk.length));
      res.on("close", resolveEnded);
    });
    req.on("error", resolveEnded);
    viewers.push(req);
    return { bytes: () => bytes, ended };
  }

  async function watching(url: string): Promise<{ bytes: () => number; ended: Promise<void> }> {
    const viewer = openViewer(url);
    await waitFor(`media reaching the viewer of ${url}`, () => (viewer.bytes() > 0 ? true : undefined), 30_000);
    return viewer;
  }

  /** The server and its two ffmpeg jobs under `pid`: every process of the tree then. */
  async function treeOnAir(pid: number): Promise<number[]> {
    return waitFor(
      "the server and its two ffmpeg jobs",
      () => {
        const tree = descendantsOf(pid);
        return tree.filter((p) => commandOf(p).endsWith("ffmpeg")).length === 2 ? tree : undefined;
      },
      60_000,
    );
  }

  /** Follows a playlist (master → media) to its first segment; true once a segment came back 200, else undefined. */
  async function fetchFirstSegment(playlistUrl: string): Promise<true | undefined> {
    let url = new URL(playlistUrl);
    for (let hop = 0; hop < 3; hop++) {
      const response = await fetch(url);
      if (response.status !== 200) return undefined;
      if (!url.pathname.endsWith(".m3u8")) return true;
      const next = (await response.text()).split("\n").find((line) => line !== "" && !line.startsWith("#"));
      if (next === undefined) return undefined;
      url = new URL(next, url);
    }
    return undefined;
  }

  function ledgerRows(dataDir: string): { sessions: LedgerRow[]; live: number } {
    const db = new Database(join(dataDir, "stats.sqlite"), { readonly: true });
    try {
      const sessions = db
        .prepare("SELECT protocol, playing_since, last_activity_at, bytes_out, ended_at, end_reason FROM sessions ORDER BY started_at")
        .all() as LedgerRow[];
      const live = (db.prepare("SELECT COUNT(*) AS n FROM live_sessions").get() as { n: number }).n;
      return { sessions, live };
    } finally {
      db.close();
    }
  }

  describe("SIGTERM to the top process with live viewers", () => {
    const launchers = [
      { name: "npm start", start: (file: string) => run("npm", ["start", "--ignore-scripts", "--silent", "--", "--config", file]) },
      { name: "the bin", start: (file: string) => run(process.execPath, [BIN, "--config", file]) },
    ];
    for (const launcher of launchers) {
      it(`${launcher.name}: every session (HTTP-FLV and HLS) ends as shutdown with its ledger row, no node or ffmpeg process of it remains, exit 0 within ${SHUTDOWN_BOUND_MS} ms`, async () => {
        const dataDir = join(dir, `term-${launcher.name.replace(/\W/g, "")}`);
        const server = launcher.start(
          configFile(`term-${launcher.name.replace(/\W/g, "")}`, [
            "log: { level: info }",
            "auth: { allowIps: [127.0.0.1] }",
            `server: { rtmpPort: 0, httpPort: 0, dataDir: ${JSON.stringify(dataDir)} }`,
          ]),
        );
        const { httpPort } = await eventLine<{ httpPort: number }>(server, "server.started");
        const tree = await treeOnAir(server.proc.pid!);
        const url = `http://127.0.0.1:${httpPort}/live/a.flv`;
        const first = await watching(url);
        const second = await watching(url);
        // An HLS viewer: a session opens with its first playlist (once the channel has written one) and
        // plays from its first segment (a session that fetched only playlists is no viewing in the ledger).
        await waitFor("an HLS segment", () => fetchFirstSegment(`http://127.0.0.1:${httpPort}/live/a/index.m3u8`), 30_000);

        const sentAt = Date.now();
        server.proc.kill("SIGTERM");
        const { code } = await server.exit;
        expect(code, server.output().slice(-2000)).to.equal(0);
        await waitFor(
          "every process of the tree gone",
          () => (tree.every((p) => !isRunning(p)) ? true : undefined),
          Math.max(1, SHUTDOWN_BOUND_MS - (Date.now() - sentAt)),
        );
        await Promise.all([first.ended, second.ended]); // the server cut them

        const { sessions, live } = ledgerRows(dataDir);
        expect(live, "no session left in the live mirror").to.equal(0);
        const played = sessions.filter((s) => s.playing_since !== null);
        expect(played.map((s) => `${s.protocol} ${s.end_reason}`).sort()).to.deep.equal([
          "hls shutdown",
          "http-flv shutdown",
          "http-flv shutdown",
        ]);
        for (const s of played) {
          expect(s.bytes_out, "bytes counted up to the stop").to.be.greaterThan(0);
          expect(s.ended_at).to.be.within(sentAt - 1000, Date.now());
        }
        const lines = server.stdout().split("\n");
        expect(lines.filter((l) => l.includes('"event":"session.end"') && l.includes('"reason":"shutdown"'))).to.have.length(3);
        expect(server.stdout()).to.include('"event":"server.stopped"');
      });
    }
  });

  it("SIGTERM while the bin is still starting: exit 0, nothing starts after the stop, no ffmpeg outlives the exit", async () => {
    const server = run(process.execPath, [
      BIN,
      "--config",
      configFile("early-term", [
        "log: { level: info }",
        `server: { rtmpPort: 0, httpPort: 0, dataDir: ${JSON.stringify(join(dir, "early-data"))} }`,
      ]),
    ]);
    await eventLine(server, "plugin.attached"); // built, signal handlers installed; listeners and channels not started yet
    // Every ffmpeg the server runs, seen while it starts and stops; checked the moment it has exited.
    const seen = new Set<number>();
    const watch = setInterval(() => {
      for (const p of descendantsOf(server.proc.pid!)) if (commandOf(p).endsWith("ffmpeg")) seen.add(p);
    }, 10);
    server.proc.kill("SIGTERM");
    const { code } = await server.exit;
    const outlived = [...seen].filter(isRunning);
    clearInterval(watch);
    expect(outlived, "ffmpeg children still running when the server exited (started after the stop passed them)").to.deep.equal([]);
    expect(code, server.output().slice(-2000)).to.equal(0);
    const events = server
      .stdout()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => (JSON.parse(l) as { event?: string }).event);
    const stoppedAt = events.indexOf("server.stopped");
    expect(stoppedAt, "server.stopped logged").to.be.greaterThan(-1);
    expect(
      events.slice(stoppedAt + 1).filter((e) => e !== undefined),
      "nothing started after the stop",
    ).to.deep.equal([]);
    if (events.includes("server.started")) expect(events.indexOf("server.started"), "started before it stopped").to.be.lessThan(stoppedAt);
  });

  it("SIGKILL to the bin: ffmpeg gone within 5 s, at most ~1 s of accounting lost (default stats.flushIntervalMs), a second start on the same ports works", async () => {
    const dataDir = join(dir, "crash-data");
    const [rtmpPort, httpPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const file = configFile("crash", [
      "log: { level: info }",
      "auth: { allowIps: [127.0.0.1] }",
      `api: { enabled: true, port: ${apiPort}, token: ${API_TOKEN} }`,
      `server: { rtmpPort: ${rtmpPort}, httpPort: ${httpPort}, dataDir: ${JSON.stringify(dataDir)} }`,
    ]);
    const first = run(process.execPath, [BIN, "--config", file]);
    await eventLine(first, "server.started");
    const tree = await treeOnAir(first.proc.pid!);
    const viewer = await watching(`http://127.0.0.1:${httpPort}/live/a.flv`);
    // Long enough for several heartbeats: what is lost is only what came after the last one.
    await sleep(3000);
    const killedAt = Date.now();
    first.proc.kill("SIGKILL");
    await first.exit;
    await waitFor("ffmpeg children and their lifeline watchers gone", () => (tree.every((p) => !isRunning(p)) ? true : undefined), 5000);
    await viewer.ended;

    const second = run(process.execPath, [BIN, "--config", file]);
    const again = await eventLine<{ rtmpPort: number; httpPort: number; apiPort: number }>(second, "server.started");
    expect(again).to.include({ rtmpPort, httpPort, apiPort });
    expect((await eventLine<{ sessions: number }>(second, "stats.recovered")).sessions).to.equal(1);
    await treeOnAir(second.proc.pid!);
    expect(
      (await httpGetFor(`http://127.0.0.1:${httpPort}/live/a.flv`, 1500)).bytes,
      "the restarted server serves on the same port",
    ).to.be.greaterThan(0);
    second.proc.kill("SIGTERM");
    expect((await second.exit).code).to.equal(0);

    const crashed = ledgerRows(dataDir).sessions.find((s) => s.end_reason === "server-stopped");
    expect(crashed, "the session live at SIGKILL has its row").to.not.equal(undefined);
    const lostMs = killedAt - crashed!.ended_at;
    // One flush interval (1000 ms) at most, plus the time a heartbeat's timer may run late on a loaded machine.
    expect(lostMs, `accounting lost: ${lostMs} ms`).to.be.within(0, 1000 + 750);
    expect(crashed!.bytes_out).to.be.greaterThan(0);
  });

  describe("SIGHUP reloads the configuration and the users file", () => {
    const users = (token: string) => `users:\n  - { login: viewer, tokens: [${token}], packages: ["*"] }\n`;
    const launchers = [
      {
        name: "npm start (signal to the server's pid)",
        start: (file: string) => run("npm", ["start", "--ignore-scripts", "--silent", "--", "--config", file]),
      },
      { name: "the bin", start: (file: string) => run(process.execPath, [BIN, "--config", file]) },
    ];
    for (const [i, launcher] of launchers.entries()) {
      it(launcher.name, async () => {
        const usersFile = join(dir, `hup-users-${i}.yaml`);
        writeFileSync(usersFile, users("first-token-abc123"));
        const lines = (deny: string) => [
          "log: { level: info }",
          `auth: { usersFile: ${JSON.stringify(usersFile)}, denyIps: [${deny}] }`,
          `server: { rtmpPort: 0, httpPort: 0, dataDir: ${JSON.stringify(join(dir, `hup-data-${i}`))} }`,
        ];
        const file = configFile(`hup-${i}`, lines("10.9.9.9"));
        const server = launcher.start(file);
        const { httpPort, pid } = await eventLine<{ httpPort: number; pid: number }>(server, "server.started");
        await treeOnAir(server.proc.pid!);
        const play = async (token: string) => (await httpGetFor(`http://127.0.0.1:${httpPort}/live/a.flv?token=${token}`, 800)).status;
        expect(await play("first-token-abc123")).to.equal(200);
        expect(await play("second-token-xyz789")).to.equal(403);

        writeFileSync(usersFile, users("second-token-xyz789"));
        configFile(`hup-${i}`, lines("10.9.9.8"));
        process.kill(pid, "SIGHUP");
        const reloaded = await eventLine<{ applied: string[] }>(server, "config.reloaded");
        expect(reloaded.applied).to.deep.equal(["auth.denyIps"]);
        await waitFor("the new users in force", async () => ((await play("second-token-xyz789")) === 200 ? true : undefined), 10_000);
        expect(await play("first-token-abc123")).to.equal(403);
        expect(server.proc.exitCode, "a reload, not a stop").to.equal(null);
        server.proc.kill("SIGTERM");
        expect((await server.exit).code).to.equal(0);
      });
    }
  });

  it("logs: the bin's stdout is JSON lines only while NMS logs (its lines carry src:nms); --log-format pretty writes text", async () => {
    const file = configFile("json-logs", [
      "log: { level: debug, nmsLevel: debug }",
      "auth: { allowIps: [127.0.0.1] }",
      `server: { rtmpPort: 0, httpPort: 0, dataDir: ${JSON.stringify(join(dir, "json-data"))} }`,
    ]);
    // A second channel whose source is missing: its ffmpeg always says so on stderr, at once.
    writeFileSync(
      file,
      `${readFileSync(file, "utf8")}  - { id: broken, source: { type: file, path: ${JSON.stringify(join(dir, "missing.mp4"))} }, transcode: { mode: copy } }\n`,
    );
    const server = run(process.execPath, [BIN, "--config", file]);
    const { httpPort } = await eventLine<{ httpPort: number }>(server, "server.started");
    await eventLine(server, "channel.ffmpeg_output");
    await waitFor(
      "channel a on air",
      async () => ((await httpGetFor(`http://127.0.0.1:${httpPort}/live/a.flv`, 1000)).bytes > 0 ? true : undefined),
      60_000,
    );
    server.proc.kill("SIGTERM");
    expect((await server.exit).code).to.equal(0);
    const lines = server
      .stdout()
      .split("\n")
      .filter((l) => l !== "");
    const notJson = lines.filter((l) => {
      try {
        return typeof JSON.parse(l) !== "object";
      } catch {
        return true;
      }
    });
    expect(notJson, "plain text on stdout").to.deep.equal([]);
    expect(
      lines.some((l) => l.includes('"event":"channel.ffmpeg_output"')),
      "ffmpeg's stderr as JSON at debug",
    ).to.equal(true);
    const nms = lines.map((l) => JSON.parse(l) as { src?: string; msg: string }).filter((l) => l.src === "nms");
    expect(
      nms.some((l) => /session .* (start play|start push)/i.test(l.msg)),
      nms.map((l) => l.msg).join("\n"),
    ).to.equal(true);

    const pretty = run(process.execPath, [BIN, "--config", file, "--log-format", "pretty"]);
    await waitFor(
      "server started, as text",
      () => (/^\[[\d:.]+\] INFO \(nms-viewer-auth\/\d+\): server started$/m.test(pretty.stdout()) ? true : undefined),
      60_000,
    );
    pretty.proc.kill("SIGTERM");
    expect((await pretty.exit).code).to.equal(0);
    expect(pretty.stdout()).to.include('src: "nms"').and.not.include('"event":"server.started"');
  });

  describe("environment variables (through the bin)", () => {
    it("ports, bind, data dir, API switch and token, log level and format come from VA_… over the file", async () => {
      const envData = join(dir, "env-data");
      const fileData = join(dir, "file-data-unused");
      const [rtmpPort, httpPort, apiPort] = [await freePort(), await freePort(), await freePort()];
      const file = configFile("env", [
        "log: { level: info, format: json }",
        "auth: { allowIps: [127.0.0.1] }",
        "api: { enabled: false, port: 1, token: null }",
        `server: { bind: 192.0.2.1, rtmpPort: 2, httpPort: 3, dataDir: ${JSON.stringify(fileData)} }`,
      ]);
      const server = run(process.execPath, [BIN, "--config", file], {
        VA_BIND: "127.0.0.1",
        VA_RTMP_PORT: String(rtmpPort),
        VA_HTTP_PORT: String(httpPort),
        VA_DATA_DIR: envData,
        VA_API_ENABLED: "true",
        VA_API_BIND: "127.0.0.1",
        VA_API_PORT: String(apiPort),
        VA_API_TOKEN: API_TOKEN,
        VA_LOG_LEVEL: "warn",
        VA_LOG_FORMAT: "pretty",
      });
      await treeOnAir(server.proc.pid!); // the ingest publishes to VA_RTMP_PORT
      const live = await waitFor(
        "the API on VA_API_PORT",
        async () => (await apiFetch(`http://127.0.0.1:${apiPort}/api/live`).catch(() => undefined))?.status,
        30_000,
      );
      expect(live).to.equal(200);
      expect((await apiFetch(`http://127.0.0.1:${apiPort}/api/sessions`)).status).to.equal(401);
      expect(
        (await apiFetch(`http://127.0.0.1:${apiPort}/api/sessions`, { headers: { Authorization: `Bearer ${API_TOKEN}` } })).status,
      ).to.equal(200);
      expect((await httpGetFor(`http://127.0.0.1:${httpPort}/live/a.flv`, 1000)).bytes, "HTTP-FLV on VA_HTTP_PORT").to.be.greaterThan(0);
      // A warn line: a reload that changes a restart-only key. Its info line (config.reloaded) is below VA_LOG_LEVEL.
      writeFileSync(
        file,
        readFileSync(file, "utf8").replace(
          "log: { level: info, format: json }",
          "log: { level: info, format: json }\nsessions: { maxPerIp: 7 }\nstats: { flushIntervalMs: 900 }",
        ),
      );
      process.kill(server.proc.pid!, "SIGHUP");
      await waitFor(
        "a pretty WARN line",
        () =>
          /^\[[\d:.]+\] WARN \(nms-viewer-auth\): changed keys take effect after a restart: stats\.flushIntervalMs/m.test(server.stdout())
            ? true
            : undefined,
        20_000,
      );
      server.proc.kill("SIGTERM");
      expect((await server.exit).code).to.equal(0);
      expect(server.stdout(), "no info line at VA_LOG_LEVEL=warn").not.to.match(/\bINFO\b/);
      expect(existsSync(join(envData, "stats.sqlite")), "the ledger in VA_DATA_DIR").to.equal(true);
      expect(existsSync(fileData), "the file's dataDir unused").to.equal(false);
    });

    it("a bad value names its variable; VA_CONFIG names the file when --config is absent", () => {
      const file = configFile("env-check", ["auth: { allowIps: [127.0.0.1] }"]);
      const bin = (env: NodeJS.ProcessEnv, ...args: string[]) =>
        spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, ...env } });
      const bad = bin(
        { VA_RTMP_PORT: "19x5", VA_HTTP_PORT: "70000", VA_API_ENABLED: "maybe", VA_LOG_FORMAT: "xml", VA_API_TOKEN: "short" },
        "--config",
        file,
        "--check-config",
      );
      expect(bad.status).to.equal(1);
      expect(bad.stderr)
        .to.include('server.rtmpPort: "19x5" must be a whole number (from VA_RTMP_PORT)')
        .and.include("server.httpPort: 70000 must be 0..65535 (from VA_HTTP_PORT)")
        .and.include('api.enabled: "maybe" must be true or false (from VA_API_ENABLED)')
        .and.include("(from VA_LOG_FORMAT)")
        .and.include("(from VA_API_TOKEN)")
        .and.not.include("short");
      const viaEnv = bin({ VA_CONFIG: file }, "--check-config");
      expect(viaEnv.status, viaEnv.stderr).to.equal(0);
      expect(viaEnv.stdout.trim()).to.equal(`OK: ${file}`);
      const empty = bin({ VA_CONFIG: file, VA_RTMP_PORT: "" }, "--check-config");
      expect(empty.status, "an empty variable is unset").to.equal(0);
    });
  });

  describe("the Dockerfile's contract", () => {
    const dockerfile = readFileSync("Dockerfile", "utf8");
    /** The instructions of the final stage, continuation lines joined. */
    const finalStage = dockerfile
      .replace(/\\\n/g, " ")
      .split(/^FROM /m)
      .at(-1)!;
    const instruction = (name: string) =>
      finalStage
        .split("\n")
        .filter((l) => l.startsWith(`${name} `))
        .map((l) => l.slice(name.length + 1).trim());
    const jsonArray = (text: string) => JSON.parse(text) as string[];
    const env = Object.fromEntries(instruction("ENV").flatMap((l) => [...l.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!])));

    it("Debian Node 24 stages, ffmpeg, the build and the packages' install only in the build stage, not root, volumes, probe, stop signal", () => {
      expect(dockerfile.match(/^FROM .*/gm)).to.deep.equal(["FROM node:24-bookworm-slim AS build", "FROM node:24-bookworm-slim"]);
      expect(finalStage).to.match(/apt-get install -y --no-install-recommends ffmpeg tini/);
      expect(dockerfile.split(/^FROM /m)[1])
        .to.include("npm ci")
        .and.include("npm pack --workspaces")
        .and.include("npm install --omit=dev");
      expect(finalStage).not.to.match(/npm (ci|install)|COPY (plugin|server)\/src|typescript/);
      const user = instruction("USER");
      expect(user).to.have.length(1);
      expect(user[0]).not.to.match(/^(root|0)(:|$)/);
      expect(instruction("STOPSIGNAL")).to.deep.equal(["SIGTERM"]);
      const pkg = JSON.parse(readFileSync("server/package.json", "utf8")) as { name: string; bin: Record<string, string> };
      const entrypoint = jsonArray(instruction("ENTRYPOINT")[0]!);
      expect(entrypoint).to.deep.equal(["/usr/bin/tini", "--", "nms-viewer-auth"]);
      // The image's command is the server package's bin, as installed from its tarball.
      expect(pkg.bin["nms-viewer-auth"]).to.equal("dist/main.js");
      expect(finalStage).to.include(`ln -s /app/node_modules/${pkg.name}/${pkg.bin["nms-viewer-auth"]} /usr/local/bin/nms-viewer-auth`);
      // The sample config goes where VA_CONFIG points, inside the config volume; its dataDir is the data volume.
      const volumes = jsonArray(instruction("VOLUME")[0]!);
      expect(finalStage).to.include(`COPY samples/container/config.yaml ${env.VA_CONFIG}`);
      expect(volumes).to.include(env.VA_CONFIG!.slice(0, env.VA_CONFIG!.lastIndexOf("/")));
      expect(volumes).to.include(env.VA_DATA_DIR);
      expect(readFileSync("samples/container/config.yaml", "utf8")).to.include(`dataDir: ${env.VA_DATA_DIR}`);
      const ignored = readFileSync(".dockerignore", "utf8").split("\n");
      expect(ignored).to.include.members(["node_modules", "dist", "data", ".git"]);
    });

    it("the entrypoint as PID 1 in its own PID namespace with the container's config via env: healthy, then SIGTERM → exit 0, no process left", async function () {
      if (spawnSync("unshare", ["--pid", "--fork", "--mount-proc", "true"]).status !== 0) this.skip(); // needs root (or user namespaces)
      const healthcheck = jsonArray(
        instruction("HEALTHCHECK")
          .at(0)!
          .replace(/^.*?CMD /, ""),
      );
      expect(healthcheck.slice(0, 2)).to.deep.equal(["node", "-e"]);
      expect(healthcheck[2]).to.include("/api/live");
      // The path the HEALTHCHECK asks is an open row of the API's route table (no bearer token).
      expect(readFileSync("plugin/src/management-api.ts", "utf8")).to.include(
        '{ method: "GET", pattern: /^\\/api\\/live$/, access: "open"',
      );
      // The image's files at temp paths: the config volume and the data volume.
      const configDir = join(dir, "etc");
      const dataDir = join(dir, "var-lib");
      mkdirSync(configDir);
      copyFileSync("samples/container/config.yaml", join(configDir, "config.yaml"));
      const [rtmpPort, httpPort, apiPort] = [await freePort(), await freePort(), await freePort()];
      const containerEnv = {
        ...env,
        VA_CONFIG: join(configDir, "config.yaml"),
        VA_DATA_DIR: dataDir,
        // `docker run -e …` of a deployment: loopback and free ports here (the image binds 0.0.0.0:1935/8000/8001).
        VA_BIND: "127.0.0.1",
        VA_API_BIND: "127.0.0.1",
        VA_RTMP_PORT: String(rtmpPort),
        VA_HTTP_PORT: String(httpPort),
        VA_API_PORT: String(apiPort),
        VA_API_TOKEN: API_TOKEN,
      };
      // The image's /usr/local/bin/nms-viewer-auth: a link to the bin, made executable as the Dockerfile does.
      const binDir = join(dir, "usr-local-bin");
      mkdirSync(binDir);
      chmodSync(BIN, 0o755);
      symlinkSync(join(process.cwd(), BIN), join(binDir, "nms-viewer-auth"));
      // tini (PID 1 in the image) only forwards signals; here the bin itself is PID 1, the harder case.
      const entrypoint = jsonArray(instruction("ENTRYPOINT")[0]!).slice(2);
      expect(entrypoint).to.deep.equal(["nms-viewer-auth"]);
      const unshare = run("unshare", ["--pid", "--fork", "--mount-proc", ...entrypoint], {
        ...containerEnv,
        PATH: `${binDir}:${process.env.PATH ?? ""}`,
      });
      const pid1 = await waitFor(
        `the namespace's PID 1 (${unshare.output().slice(-500)})`,
        () => descendantsOf(unshare.proc.pid!).find(isPid1OfItsNamespace),
        20_000,
      );
      const tree = await treeOnAir(pid1);
      await waitFor(
        "HEALTHCHECK passes",
        () =>
          spawnSync(healthcheck[0]!, healthcheck.slice(1), { env: { ...process.env, VA_API_PORT: String(apiPort) } }).status === 0
            ? true
            : undefined,
        30_000,
      );
      const ready = await waitFor(
        "ready",
        async () => ((await apiFetch(`http://127.0.0.1:${apiPort}/api/ready`)).status === 200 ? true : undefined),
        30_000,
      );
      expect(ready).to.equal(true);
      const sentAt = Date.now();
      process.kill(pid1, "SIGTERM"); // docker stop: SIGTERM to PID 1 from outside the namespace
      expect((await unshare.exit).code, unshare.output().slice(-2000)).to.equal(0);
      await waitFor(
        "every process gone",
        () => ([pid1, ...tree].every((p) => !isRunning(p)) ? true : undefined),
        Math.max(1, SHUTDOWN_BOUND_MS - (Date.now() - sentAt)),
      );
      expect(unshare.stdout()).to.include('"event":"server.stopped"');
      expect(existsSync(join(dataDir, "stats.sqlite"))).to.equal(true);
    });
  });

  it("the systemd unit: Restart=on-failure, KillMode=mixed, TimeoutStopSec above the shutdown bound, hardening, ExecReload=SIGHUP; systemd-analyze verify passes", function () {
    const unit = readFileSync("samples/systemd/nms-viewer-auth.service", "utf8");
    const values = (key: string) =>
      unit
        .split("\n")
        .filter((l) => l.startsWith(`${key}=`))
        .map((l) => l.slice(key.length + 1));
    expect(values("Restart")).to.deep.equal(["on-failure"]);
    expect(values("KillMode")).to.deep.equal(["mixed"]);
    expect(values("KillSignal")).to.deep.equal(["SIGTERM"]);
    expect(Number(values("TimeoutStopSec")[0]) * 1000).to.be.greaterThan(SHUTDOWN_BOUND_MS);
    expect(values("ExecReload")).to.deep.equal(["/bin/kill -HUP $MAINPID"]);
    for (const key of ["NoNewPrivileges", "ProtectHome", "PrivateTmp"]) expect(values(key), key).to.deep.equal(["yes"]);
    expect(values("ProtectSystem")).to.deep.equal(["strict"]);
    // The data directory is the one path it may write under ProtectSystem=strict (StateDirectory= does what ReadWritePaths= would).
    expect(values("StateDirectory")).to.deep.equal(["nms-viewer-auth"]);
    expect(values("WorkingDirectory")).to.deep.equal(["/var/lib/nms-viewer-auth"]);
    if (spawnSync("systemd-analyze", ["--version"]).status !== 0) this.skip();
    // verify needs the executables to exist: this checkout's bin, run by this node.
    const copy = join(dir, "nms-viewer-auth.service");
    writeFileSync(copy, unit.replaceAll("/usr/local/bin/nms-viewer-auth", `${process.execPath} ${join(process.cwd(), BIN)}`));
    const verify = spawnSync("systemd-analyze", ["verify", copy], { encoding: "utf8" });
    const problems = (verify.stdout + verify.stderr).split("\n").filter((l) => l.includes("nms-viewer-auth.service"));
    expect(problems, verify.stderr).to.deep.equal([]);
    expect(verify.status, verify.stderr).to.equal(0);
  });
});
