import { expect } from "chai";
import { buildPackages, SERVER_BIN } from "../helpers/build-packages.js";
import { spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { waitFor } from "../helpers/wait-for.js";
import { spawnLogged } from "../helpers/spawned-process.js";
import { commandOf, descendantsOf, isRunning } from "../helpers/process-tree.js";

/** The bound docs/operations.md promises for a stop after SIGTERM/SIGINT with the default server.stopTimeoutMs (5 s + 5 s). */
const SHUTDOWN_BOUND_MS = 10_000;

/** What package.json's `bin` runs. */
const BIN = SERVER_BIN;

describe("process lifecycle under a supervisor (npm start, the bin, signals)", function () {
  this.timeout(120_000);
  let dir: string;
  const started: ChildProcess[] = [];

  before(function () {
    if (!hasFfmpeg) this.skip();
    dir = mkdtempSync(join(tmpdir(), "va-lifecycle-"));
    buildPackages();
  });
  after(() => {
    for (const proc of started) if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  function configFile(name: string): string {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      [
        "log: { level: info }",
        `server: { rtmpPort: 0, httpPort: 0, dataDir: ${JSON.stringify(join(dir, `${name}-data`))} }`,
        "channels:",
        "  - { id: a, source: { type: testPattern, width: 160, height: 120, fps: 10 }, transcode: { mode: h264, preset: ultrafast, videoBitrateKbps: 100 } }",
        "",
      ].join("\n"),
    );
    return file;
  }

  function run(command: string, args: string[]): { proc: ChildProcess; output: () => string; exit: Promise<number | null> } {
    const spawned = spawnLogged(command, args);
    started.push(spawned.proc);
    return spawned;
  }

  /** Waits until the channel's two ffmpeg jobs run under `pid`; returns every process of the tree then. */
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

  async function expectAllEnded(pids: number[], withinMs: number): Promise<void> {
    await waitFor(
      `every process of the tree gone within ${withinMs} ms`,
      () => (pids.every((p) => !isRunning(p)) ? true : undefined),
      withinMs,
    );
  }

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`${signal} to the npm start process stops the node server and every ffmpeg child, exit 0`, async () => {
      const { proc, output, exit } = run("npm", ["start", "--ignore-scripts", "--silent", "--", "--config", configFile(`npm-${signal}`)]);
      const tree = await treeOnAir(proc.pid!);
      expect(
        tree.some((p) => commandOf(p) === "node"),
        "npm runs node itself, no shell in between",
      ).to.equal(true);
      const sentAt = Date.now();
      proc.kill(signal);
      expect(await exit).to.equal(0);
      await expectAllEnded(tree, SHUTDOWN_BOUND_MS - (Date.now() - sentAt));
      expect(output()).to.include('"event":"server.stopped"');
    });
  }

  it("SIGHUP under npm start: to the server's pid it reloads; to npm (which dies of it) the server stops, no orphan", async () => {
    const { proc, output, exit } = run("npm", ["start", "--ignore-scripts", "--silent", "--", "--config", configFile("npm-hup")]);
    const tree = await treeOnAir(proc.pid!);
    const line = await waitFor("server.started", () =>
      output()
        .split("\n")
        .find((l) => l.includes('"event":"server.started"')),
    );
    const serverPid = (JSON.parse(line) as { pid: number }).pid;
    expect(tree).to.include(serverPid);
    process.kill(serverPid, "SIGHUP");
    await waitFor("config.reloaded", () => (output().includes('"event":"config.reloaded"') ? true : undefined));
    expect(isRunning(serverPid) && proc.exitCode === null, "a reload, not a stop").to.equal(true);
    // npm forwards only SIGINT/SIGTERM (@npmcli/run-script) and dies of SIGHUP: the server notices.
    proc.kill("SIGHUP");
    await exit;
    await expectAllEnded(tree, SHUTDOWN_BOUND_MS + 1000);
    expect(output()).to.include('"event":"server.parent_gone"');
  });

  it("SIGKILL to the server: its ffmpeg children (and their lifeline watchers) are gone within 5 s", async () => {
    const { proc, exit } = run(process.execPath, [BIN, "--config", configFile("sigkill")]);
    const tree = await treeOnAir(proc.pid!);
    const ffmpegs = tree.filter((p) => commandOf(p).endsWith("ffmpeg"));
    proc.kill("SIGKILL");
    await exit;
    await expectAllEnded(tree, 5000);
    expect(ffmpegs.filter(isRunning)).to.deep.equal([]);
  });

  it("SIGTERM to the bin (the compiled server run by node) stops the tree within the bound, exit 0", async () => {
    const { proc, exit } = run(process.execPath, [BIN, "--config", configFile("bin-sigterm")]);
    const tree = await treeOnAir(proc.pid!);
    const sentAt = Date.now();
    proc.kill("SIGTERM");
    expect(await exit).to.equal(0);
    await expectAllEnded(tree, SHUTDOWN_BOUND_MS - (Date.now() - sentAt));
  });

  describe("the nms-viewer-auth bin's flags", () => {
    const bin = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8" });
    const pkg = JSON.parse(readFileSync("server/package.json", "utf8")) as { version: string; bin: Record<string, string> };
    const plugin = JSON.parse(readFileSync("plugin/package.json", "utf8")) as { bin: Record<string, string> };

    it("the server package names the bin, the plugin package the command-line tools, each a built file with a node shebang", () => {
      expect(pkg.bin).to.deep.equal({ "nms-viewer-auth": "dist/main.js" });
      expect(plugin.bin).to.deep.equal({
        "make-link": "dist/esm/cli/make-link.js",
        "hash-password": "dist/esm/cli/hash-password.js",
        "make-token": "dist/esm/cli/make-token.js",
      });
      for (const file of Object.values(pkg.bin)
        .map((f) => `server/${f}`)
        .concat(Object.values(plugin.bin).map((f) => `plugin/${f}`)))
        expect(readFileSync(file, "utf8").split("\n")[0], file).to.equal("#!/usr/bin/env node");
    });

    it("--help and -h print usage, exit 0", () => {
      for (const flag of ["--help", "-h"]) {
        const out = bin(flag);
        expect(out.status).to.equal(0);
        expect(out.stdout).to.include("Usage: nms-viewer-auth --config FILE").and.include("--check-config");
      }
    });

    it("--version prints package.json's version", () => {
      const out = bin("--version");
      expect(out.status).to.equal(0);
      expect(out.stdout.trim()).to.equal(pkg.version);
    });

    it("--check-config: OK and exit 0 for a valid file; every issue and exit 1 for a broken one; no server started", () => {
      const good = bin("--check-config", "--config", configFile("check-good"));
      expect(good.status, good.stderr).to.equal(0);
      expect(good.stdout).to.match(/^OK: /);
      const broken = join(dir, "check-broken.yaml");
      writeFileSync(broken, "server: { rtmpPort: 70000, dataDirr: x }\nchannels: []\n");
      const bad = bin("--config", broken, "--check-config");
      expect(bad.status).to.equal(1);
      expect(bad.stderr).to.include("server.rtmpPort: 70000 must be 0..65535").and.include("server.dataDirr: is not a known key");
      const missing = bin("--check-config", "--config", join(dir, "no-such.yaml"));
      expect(missing.status).to.equal(1);
      expect(missing.stderr).to.include("cannot read");
      for (const out of [good, bad, missing]) expect(out.stdout + out.stderr).not.to.match(/\n\s+at /);
    });

    it("an unknown option or a missing --config prints usage (no stack trace), exit 2", () => {
      for (const args of [["--bogus"], []]) {
        const out = bin(...args);
        expect(out.status).to.equal(2);
        expect(out.stderr)
          .to.include("Usage: nms-viewer-auth")
          .and.not.match(/\n\s+at /);
      }
    });
  });
});
