import { expect } from "chai";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { answer, startStubBackend, type StubBackend } from "../helpers/stub-backend.js";

/** Runs the bin with its arguments; resolves with its exit code and output (the stub backend answers meanwhile). */
function runBin(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "server/src/main.ts", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe("nms-viewer-auth explain (the bin's subcommand, spawned)", function () {
  this.timeout(60000);
  let dir: string;
  let file: string;
  let backend: StubBackend;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "va-explain-cli-"));
    backend = await startStubBackend();
    backend.respond = (req, res) => {
      const ticket = new URL(req.url ?? "/", "http://x").searchParams.get("ticket");
      (ticket === "good" ? answer(200, { "X-UserId": "bob" }) : answer(403))(req, res);
    };
    file = join(dir, "config.yaml");
    writeFileSync(
      file,
      [
        "auth:",
        "  defaultAction: deny",
        "  denyIps: [10.66.0.0/16]",
        "  packages: { news: [test] }",
        "  users:",
        "    - { login: alice, tokens: [alice-token-0123456789], packages: [news], maxConnections: 2 }",
        "  backend:",
        "    type: http-request",
        `    url: ${backend.base}/auth`,
        "server:",
        `  dataDir: ${join(dir, "data")}`,
        "  rtmpPort: 1",
        "  httpPort: 2",
        "channels: []",
        "",
      ].join("\n"),
    );
  });

  after(async () => {
    await backend?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("allow by a built-in user: exit 0, a table with every step, and nothing written or started", async () => {
    const result = await runBin([
      "explain",
      "--config",
      file,
      "http://h:8000/live/test.flv?token=alice-token-0123456789",
      "--ip",
      "192.0.2.7",
    ]);
    expect(result.status, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/^ALLOW {2}http-flv live\/test from 192\.0\.2\.7\ndecided by users: user "alice" by token\n/);
    expect(result.stdout).to.match(/\nip-deny +pass +\d+\.\d{3} ms\n/);
    expect(result.stdout).to.match(/\nlimits: +user alice 0\/2 \(room\)\n/);
    expect(existsSync(join(dir, "data")), "the data directory (ledger, HLS) was never made").to.equal(false);
  });

  it("deny: exit 2; --json prints the API's answer; the backend is asked", async () => {
    const denied = await runBin(["explain", "--config", file, "rtmp://h/live/test?token=x", "--ip", "10.66.3.4", "--json"]);
    expect(denied.status, denied.stderr).to.equal(2);
    const body = JSON.parse(denied.stdout) as { verdict: string; decidedBy: string; steps: { step: string }[] };
    expect(body).to.include({ verdict: "deny", decidedBy: "ip-deny" });
    backend.calls.length = 0;
    const byBackend = await runBin(["explain", "--config", file, "http://h/live/test.flv?ticket=good", "--ip", "192.0.2.7", "--json"]);
    expect(byBackend.status, byBackend.stderr).to.equal(0);
    expect(JSON.parse(byBackend.stdout)).to.deep.include({ decidedBy: "backend", identity: { userId: "bob" } });
    expect(backend.calls).to.have.length(1);
    const cacheOnly = await runBin([
      "explain",
      "--config",
      file,
      "http://h/live/test.flv?ticket=good",
      "--ip",
      "192.0.2.7",
      "--cache-only",
    ]);
    expect(cacheOnly.status).to.equal(3);
    expect(backend.calls).to.have.length(1);
  });

  it("errors: exit 1 for a bad URL, a bad address, a missing --ip or a broken configuration", async () => {
    const badUrl = await runBin(["explain", "--config", file, "ftp://h/live/test", "--ip", "192.0.2.7"]);
    expect(badUrl.status).to.equal(1);
    expect(badUrl.stderr).to.match(/url: scheme ftp:/);
    expect((await runBin(["explain", "--config", file, "rtmp://h/live/test", "--ip", "nope"])).status).to.equal(1);
    expect((await runBin(["explain", "--config", file, "rtmp://h/live/test"])).status).to.equal(1);
    const broken = join(dir, "broken.yaml");
    writeFileSync(broken, "auth:\n  defaultAction: maybe\n");
    const config = await runBin(["explain", "--config", broken, "rtmp://h/live/test", "--ip", "192.0.2.7"]);
    expect(config.status).to.equal(1);
    expect(config.stderr).to.match(/auth\.defaultAction/);
  });
});
