import { expect } from "chai";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { systemClock } from "../../plugin/src/core/clock.js";
import { MemorySessionStore } from "../../plugin/src/sessions/memory-session-store.js";
import { StatsLedger } from "../../plugin/src/stats/stats-ledger.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { auditSecrets, recordExternalLog } from "../helpers/log-audit.js";
import { waitFor } from "../helpers/wait-for.js";

/** Directories' permission bits get this flag added in `modesUnder`, to tell them from files. */
const DIR = 0o10000;

/** Every file and directory under `root` (itself included), with its permission bits (| DIR for a directory); links skipped. */
function modesUnder(root: string): Map<string, number> {
  const modes = new Map<string, number>();
  const walk = (path: string) => {
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (stat === undefined || stat.isSymbolicLink()) return;
    modes.set(path, (stat.mode & 0o777) | (stat.isDirectory() ? DIR : 0));
    if (stat.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(root);
  return modes;
}

function octal(modes: Map<string, number>, root: string): Record<string, string> {
  return Object.fromEntries([...modes].map(([path, mode]) => [path.slice(root.length) || "/", (mode & 0o777).toString(8)]));
}

describe("private data on disk, whatever the umask", function () {
  this.timeout(90_000);

  it("the statistics ledger creates its database, -wal and -shm 0600 (and its folder 0700) under umask 022, without changing the umask", () => {
    const dir = mkdtempSync(join(tmpdir(), "va-ledger-modes-"));
    const before = process.umask(0o022);
    try {
      const file = join(dir, "new", "stats.sqlite");
      const logs = createCapturingLogger();
      const registry = new MemorySessionStore(systemClock, logs.logger);
      const ledger = StatsLedger.open(file, 60_000, registry, systemClock, logs.logger);
      expect(process.umask(), "the plugin leaves the host's umask alone").to.equal(0o022);
      ledger.flush();
      const modes = modesUnder(join(dir, "new"));
      expect(existsSync(`${file}-wal`), "WAL file").to.equal(true);
      expect(existsSync(`${file}-shm`), "SHM file").to.equal(true);
      expect(octal(modes, dir)).to.deep.equal({
        "/new": "700",
        "/new/stats.sqlite": "600",
        "/new/stats.sqlite-wal": "600",
        "/new/stats.sqlite-shm": "600",
      });
      ledger.close();
      chmodSync(file, 0o644);
      const again = StatsLedger.open(file, 60_000, registry, systemClock, logs.logger);
      expect(lstatSync(file).mode & 0o777, "an existing database readable by others is narrowed").to.equal(0o600);
      again.close();
    } finally {
      process.umask(before);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /**
   * The bin, started under umask 022 with an old data directory (0755, a 0644 file in it), one test channel,
   * the ledger and a generated API token: every file and directory it has in its data and HLS directories.
   */
  async function runBin(extraYaml: string): Promise<{ dataDir: string; modes: Map<string, number> }> {
    const home = mkdtempSync(join(tmpdir(), "va-private-data-"));
    const dataDir = join(home, "data");
    mkdirSync(join(dataDir, "nms-store"), { recursive: true });
    chmodSync(dataDir, 0o755);
    chmodSync(join(dataDir, "nms-store"), 0o755);
    writeFileSync(join(dataDir, "left-by-an-older-version.txt"), "x", { mode: 0o644 });
    const file = join(home, "config.yaml");
    writeFileSync(
      file,
      [
        "log: { level: info }",
        `server: { bind: 127.0.0.1, rtmpPort: 0, httpPort: 0, dataDir: ${dataDir}${extraYaml} }`,
        `api: { enabled: true, port: 0, tokenFile: ${join(dataDir, "api-token")} }`,
        "channels:",
        "  - { id: cam, source: { type: testPattern, width: 160, height: 120, fps: 15 }, transcode: { mode: h264, videoBitrateKbps: 150, audioBitrateKbps: 32, preset: ultrafast }, hls: { segmentSec: 1, listSize: 4 } }",
      ].join("\n"),
    );
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
    const proc = spawn(
      "sh",
      ["-c", 'umask 022 && exec "$0" "$@"', process.execPath, "--import", tsx, resolve("server/src/main.ts"), "--config", file],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    const keep = (d: Buffer) => {
      output += d.toString();
      recordExternalLog(d.toString());
    };
    proc.stdout.on("data", keep);
    proc.stderr.on("data", keep);
    const exited = new Promise((r) => proc.once("exit", r));
    try {
      const hls = join(dataDir, "hls", "live", "cam");
      await waitFor(
        `segments, the playlist and the ledger's WAL (${output.slice(-400)})`,
        () => {
          const names = existsSync(hls) ? readdirSync(hls) : [];
          return names.some((n) => n.endsWith(".ts")) && names.includes("index.m3u8") && existsSync(join(dataDir, "stats.sqlite-wal"))
            ? true
            : undefined;
        },
        60_000,
      );
      auditSecrets(readFileSync(join(dataDir, "api-token"), "utf8").trim());
      return { dataDir, modes: modesUnder(dataDir) };
    } finally {
      proc.kill("SIGTERM");
      await exited;
      rmSync(home, { recursive: true, force: true });
    }
  }

  it("the bundled server (the bin) under umask 022: every directory 0700 and every file 0600 in its data and HLS directories", async function () {
    if (!hasFfmpeg) this.skip();
    const { dataDir, modes } = await runBin("");
    const paths = [...modes.keys()].map((p) => p.slice(dataDir.length));
    for (const expected of [
      "",
      "/hls",
      "/hls/live/cam",
      "/nms-store",
      "/stats.sqlite",
      "/stats.sqlite-wal",
      "/api-token",
      "/left-by-an-older-version.txt",
      "/hls/live/cam/index.m3u8",
    ]) {
      expect(paths, expected).to.include(expected);
    }
    expect(
      paths.some((p) => p.endsWith(".ts")),
      "a segment",
    ).to.equal(true);
    const wrong = [...modes].filter(([, mode]) => mode !== ((mode & DIR) !== 0 ? DIR | 0o700 : 0o600));
    expect(octal(new Map(wrong), dataDir), "not private").to.deep.equal({});
  });

  it("server.hlsGroupReadable: the HLS tree 0750/0640 for an nginx edge in the server's group, the data directory 0710, the rest private", async function () {
    if (!hasFfmpeg) this.skip();
    const { dataDir, modes } = await runBin(", hlsGroupReadable: true");
    const rel = (p: string) => p.slice(dataDir.length);
    for (const [path, mode] of modes) {
      const name = rel(path);
      // NMS writes its store with the process umask (027 here): private through its 0700 folder.
      if (name.startsWith("/nms-store/")) continue;
      const isDir = (mode & DIR) !== 0;
      // The keys of encrypted channels (/hls-keys) stay private: only the HLS tree itself is group-readable.
      const inHls = name === "/hls" || name.startsWith("/hls/");
      const expected = name === "" ? 0o710 : inHls ? (isDir ? 0o750 : 0o640) : isDir ? 0o700 : 0o600;
      expect((mode & 0o777).toString(8), name).to.equal(expected.toString(8));
    }
  });
});
