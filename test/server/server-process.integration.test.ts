import { expect } from "chai";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { waitFor } from "../helpers/wait-for.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { spawnLogged } from "../helpers/spawned-process.js";
import { childrenOf, commandOf, isRunning } from "../helpers/process-tree.js";
import { TEST_API_TOKEN } from "../helpers/api-tokens.js";
import { sleep } from "../helpers/sleep.js";
import { apiFetch } from "../helpers/openapi-check.js";

describe("server process (npm start's entry point)", function () {
  this.timeout(60000);
  let dir: string;
  let child: ChildProcess | undefined;

  before(function () {
    if (!hasFfmpeg) this.skip();
    dir = mkdtempSync(join(tmpdir(), "va-main-"));
  });
  after(() => {
    if (child?.exitCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  function startMain(config: string): { child: ChildProcess; output: () => string } {
    const file = join(dir, "config.yaml");
    writeFileSync(file, config);
    const { proc, output } = spawnLogged(process.execPath, ["--import", "tsx", "server/src/main.ts", "--config", file]);
    child = proc;
    return { child: proc, output };
  }

  it("SIGTERM stops every ffmpeg child and exits 0: no orphans", async () => {
    const { child: proc, output } = startMain(
      [
        "log: { level: info }",
        `server: { rtmpPort: 0, httpPort: 0, dataDir: ${JSON.stringify(join(dir, "data"))} }`,
        "channels:",
        "  - { id: a, source: { type: testPattern, width: 160, height: 120, fps: 10 }, transcode: { mode: h264, preset: ultrafast, videoBitrateKbps: 100 } }",
        "  - { id: b, source: { type: testPattern, width: 160, height: 120, fps: 10 }, transcode: { mode: h264, preset: ultrafast, videoBitrateKbps: 100 } }",
        "",
      ].join("\n"),
    );
    const ffmpegs = await waitFor("four ffmpeg children (2 channels × ingest + packager)", () => {
      const found = childrenOf(proc.pid!).filter((p) => commandOf(p).endsWith("ffmpeg"));
      return found.length === 4 ? found : undefined;
    });
    // The channels start just before server.started is written: wait for the line rather than race it.
    await waitFor("server.started", () => (output().includes('"event":"server.started"') ? true : undefined));
    const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
    proc.kill("SIGTERM");
    expect(await exited).to.equal(0);
    for (const pid of ffmpegs) expect(isRunning(pid), `ffmpeg ${pid} left behind`).to.equal(false);
    expect(output()).to.include('"event":"server.stopped"');
  });

  it("statistics survive SIGTERM and SIGKILL: live sessions are recorded as shutdown and server-stopped", async () => {
    const dataDir = join(dir, "stats-data");
    const config = [
      "log: { level: info }",
      "auth: { allowIps: [127.0.0.1] }",
      "stats: { flushIntervalMs: 500 }",
      `api: { enabled: true, port: 0, token: ${TEST_API_TOKEN} }`,
      `server: { rtmpPort: 0, httpPort: 0, dataDir: ${JSON.stringify(dataDir)} }`,
      "channels:",
      "  - { id: s, source: { type: testPattern, width: 160, height: 120, fps: 10 }, transcode: { mode: h264, preset: ultrafast, videoBitrateKbps: 100 } }",
      "",
    ].join("\n");
    const startAndWait = async () => {
      const started = startMain(config);
      const line = await waitFor("server.started", () =>
        started
          .output()
          .split("\n")
          .find((l) => l.includes('"event":"server.started"')),
      );
      const ports = JSON.parse(line) as { httpPort: number; apiPort: number };
      await waitFor("the channel on air", () => (started.output().includes('"event":"channel.process_up"') ? true : undefined));
      return { ...started, ports };
    };
    const stats = async (apiPort: number) => {
      const headers = { Authorization: `Bearer ${TEST_API_TOKEN}` };
      const usage = (await (await apiFetch(`http://127.0.0.1:${apiPort}/api/stats/channels`, { headers })).json()) as {
        rows: { key: string; sessions: number; watchSeconds: number; bytesOut: number }[];
      };
      const csv = await (await apiFetch(`http://127.0.0.1:${apiPort}/api/stats/sessions.csv`, { headers })).text();
      return { usage: usage.rows, csv };
    };
    const exitOf = (proc: ChildProcess) => new Promise<void>((resolve) => proc.once("exit", () => resolve()));

    // Run 1: one viewer leaves, one is still watching at SIGTERM.
    const first = await startAndWait();
    await httpGetFor(`http://127.0.0.1:${first.ports.httpPort}/live/s.flv`, 1500);
    void httpGetFor(`http://127.0.0.1:${first.ports.httpPort}/live/s.flv`, 30000);
    await sleep(1500);
    const exited = exitOf(first.child);
    first.child.kill("SIGTERM");
    await exited;

    // Run 2: both are in the ledger; then a viewer watches ~2 s and the server is SIGKILLed.
    const second = await startAndWait();
    let read = await stats(second.ports.apiPort);
    expect(read.usage).to.deep.equal([
      { key: "live/s", sessions: 2, watchSeconds: read.usage[0]!.watchSeconds, bytesOut: read.usage[0]!.bytesOut },
    ]);
    expect(read.csv).to.match(/,viewer-left\r\n/);
    expect(read.csv).to.match(/,shutdown\r\n/);
    void httpGetFor(`http://127.0.0.1:${second.ports.httpPort}/live/s.flv`, 30000);
    await sleep(2500);
    const children = childrenOf(second.child.pid!);
    const killed = exitOf(second.child);
    second.child.kill("SIGKILL");
    await killed;
    for (const pid of children) if (isRunning(pid)) process.kill(pid, "SIGKILL");

    // Run 3: the session that was live at SIGKILL is recorded as server-stopped, with its watch time.
    const third = await startAndWait();
    read = await stats(third.ports.apiPort);
    expect(read.usage[0]!.sessions).to.equal(3);
    const lines = read.csv.trim().split("\r\n");
    expect(lines).to.have.length(4);
    const killedRow = lines[3]!.split(",");
    expect(killedRow.at(-1)).to.equal("server-stopped");
    const header = lines[0]!.split(",");
    const watchedMs = Date.parse(killedRow[header.indexOf("ended_at")]!) - Date.parse(killedRow[header.indexOf("playing_since")]!);
    expect(watchedMs, "at most ~1 flush interval of accounting lost").to.be.within(1500, 3000);
    const done = exitOf(third.child);
    third.child.kill("SIGTERM");
    await done;
  });

  it("SIGHUP: a broken file is logged with every issue and changes nothing; a fixed one takes effect", async () => {
    const dataDir = join(dir, "reload-data");
    const config = (auth: string) =>
      [
        "log: { level: info }",
        `auth: ${auth}`,
        `server: { rtmpPort: 0, httpPort: 0, dataDir: ${JSON.stringify(dataDir)} }`,
        "channels:",
        "  - { id: r, source: { type: testPattern, width: 160, height: 120, fps: 10 }, transcode: { mode: h264, preset: ultrafast, videoBitrateKbps: 100 } }",
        "",
      ].join("\n");
    const file = join(dir, "config.yaml");
    const { child: proc, output } = startMain(config("{ allowIps: [127.0.0.1] }"));
    const line = await waitFor("server.started", () =>
      output()
        .split("\n")
        .find((l) => l.includes('"event":"server.started"')),
    );
    const flv = `http://127.0.0.1:${(JSON.parse(line) as { httpPort: number }).httpPort}/live/r.flv`;
    await waitFor("the channel on air", () => (output().includes('"event":"channel.process_up"') ? true : undefined));
    const viewer = httpGetFor(flv, 6000);

    writeFileSync(file, config("{ allowIps: [127.0.0.1], denyIps: [300.1.1.1], defaultAction: maybe }"));
    proc.kill("SIGHUP");
    const failed = await waitFor("config.reload_failed", () =>
      output()
        .split("\n")
        .find((l) => l.includes('"event":"config.reload_failed"')),
    );
    expect((JSON.parse(failed) as { issues: { path: string }[] }).issues.map((i) => i.path).sort()).to.deep.equal([
      "auth.defaultAction",
      "auth.denyIps[0]",
    ]);
    expect((await httpGetFor(flv, 800)).status, "still the old lists").to.equal(200);

    writeFileSync(
      file,
      config("{ denyIps: [127.0.0.0/8] }").replace("channels:", `api: { enabled: true, port: 0, token: ${TEST_API_TOKEN} }\nchannels:`),
    );
    proc.kill("SIGHUP");
    const reloaded = await waitFor("config.reloaded", () =>
      output()
        .split("\n")
        .find((l) => l.includes('"event":"config.reloaded"')),
    );
    expect(JSON.parse(reloaded)).to.deep.include({ applied: ["auth.allowIps", "auth.denyIps"] });
    const restart = output()
      .split("\n")
      .find((l) => l.includes('"event":"config.restart_needed"'));
    expect(JSON.parse(restart ?? "{}")).to.deep.include({ keys: ["api.enabled", "api.port", "api.token"] });
    const cut = await viewer;
    expect(cut.status).to.equal(200);
    expect(cut.bytes, "the viewer played until the deny list cut it").to.be.greaterThan(0);
    expect((await httpGetFor(flv, 800)).status, "now on the deny list").to.equal(403);
    expect(proc.exitCode, "still running").to.equal(null);
    const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
    proc.kill("SIGTERM");
    expect(await exited).to.equal(0);
  });

  it("a config with mistakes exits 1 and lists every error with its key path", async () => {
    const { child: proc, output } = startMain(
      [
        "server: { rtmpPort: 70000, dataDirr: x }",
        "channels:",
        "  - { id: 'bad name', source: { type: testPattern }, transcode: { mode: copy } }",
        "",
      ].join("\n"),
    );
    const code = await new Promise<number | null>((resolve) => proc.once("exit", (c) => resolve(c)));
    expect(code).to.equal(1);
    const text = output();
    expect(text).to.include("has 4 error(s)");
    expect(text).to.include("server.rtmpPort: 70000 must be 0..65535");
    expect(text).to.include('server.dataDirr: is not a known key (did you mean "dataDir"?)');
    expect(text).to.include(`channels[0].id: "bad name" must use only letters, digits, '_' and '-'`);
    expect(text).to.include("channels[0].transcode.mode");
  });
});
