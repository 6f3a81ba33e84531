import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasFfmpeg } from "./helpers/ffmpeg.js";
import { waitFor } from "./helpers/bundled-server.js";

/** Pids whose parent is `pid`, read from /proc. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] ?? "";
  } catch {
    return "";
  }
}

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
    const proc = spawn(process.execPath, ["--import", "tsx", "server/src/main.ts", "--config", file], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    proc.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    proc.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    child = proc;
    return { child: proc, output: () => output };
  }

  it("SIGTERM stops every ffmpeg child and exits 0: no orphans", async () => {
    const { child: proc, output } = startMain([
      "log: { level: info }",
      `server: { rtmpPort: 0, httpPort: 0, dataDir: ${JSON.stringify(join(dir, "data"))} }`,
      "channels:",
      "  - { id: a, source: { type: testPattern, width: 160, height: 120, fps: 10 }, transcode: { mode: h264, preset: ultrafast, videoBitrateKbps: 100 } }",
      "  - { id: b, source: { type: testPattern, width: 160, height: 120, fps: 10 }, transcode: { mode: h264, preset: ultrafast, videoBitrateKbps: 100 } }",
      "",
    ].join("\n"));
    const ffmpegs = await waitFor("four ffmpeg children (2 channels × ingest + packager)", () => {
      const found = childrenOf(proc.pid!).filter((p) => commandOf(p).endsWith("ffmpeg"));
      return found.length === 4 ? found : undefined;
    });
    expect(output()).to.include('"event":"server.started"');
    const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
    proc.kill("SIGTERM");
    expect(await exited).to.equal(0);
    for (const pid of ffmpegs) expect(isAlive(pid), `ffmpeg ${pid} left behind`).to.equal(false);
    expect(output()).to.include('"event":"server.stopped"');
  });

  it("a config with mistakes exits 1 and lists every error with its key path", async () => {
    const { child: proc, output } = startMain([
      "server: { rtmpPort: 70000, dataDirr: x }",
      "channels:",
      "  - { id: 'bad name', source: { type: testPattern }, transcode: { mode: copy } }",
      "",
    ].join("\n"));
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
