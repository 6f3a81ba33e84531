import { expect } from "chai";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { SUPPORTED_NMS_RANGE } from "../../plugin/src/hosts/host-package.js";
import { hasFfmpeg, playWithFfmpeg, publishTestPattern, stopProcess } from "../helpers/ffmpeg.js";
import { httpGetFor, wsReadFor } from "../helpers/flv-clients.js";
import { freePort } from "../helpers/free-port.js";
import { auditSecrets, recordExternalLog } from "../helpers/log-audit.js";
import { connectObject, RawRtmpClient } from "../helpers/rtmp-wire.js";
import { TEST_API_TOKEN } from "../helpers/api-tokens.js";
import { sleep } from "../helpers/sleep.js";
import { waitUntil } from "../helpers/wait-for.js";
import { apiFetch } from "../helpers/openapi-check.js";

/**
 * The package as a new user gets it: `npm pack`, the tarball installed into a fresh app outside the
 * repository (under the OS temp folder) next to the app's own node-media-server 4.4.3, then apps
 * started with plain `node` (no tsx, no TypeScript). The plugin's folder also holds a second copy of
 * NMS, as npm leaves one when versions differ: the gate must wrap the app's copy, not that one.
 */
const REPO = resolve(import.meta.dirname, "../..");
const TOKEN = "pkg-viewer-token-7f3a9c";
const API_TOKEN = TEST_API_TOKEN;
/** The login of NMS 2.7's own /api in the NMS 2.7 sample app (its `auth.api`). */
const NMS_API_USER = "nms-admin";
const NMS_API_PASS = "nms-api-pass-4c9e2a71b3";
const NPM_INSTALL = ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"];

interface Timings {
  packMs?: number;
  operatorInstallMs?: number;
  installMs?: number;
  tscMs?: number;
}

/** Runs a command to completion, failing the test with its output when it does not exit 0. */
function run(command: string, args: readonly string[], cwd: string, timeoutMs: number): { stdout: string; ms: number } {
  const started = Date.now();
  const result = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    timeout: timeoutMs,
    env: { ...process.env, npm_config_update_notifier: "false" },
  });
  recordExternalLog(result.stdout + result.stderr);
  expect(result.status, `${command} ${args.join(" ")}\n${result.stdout}\n${result.stderr}`).to.equal(0);
  return { stdout: result.stdout, ms: Date.now() - started };
}

/** Polls `check` every 250 ms until it returns true, up to `timeoutMs`. */
const waitFor = (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20000): Promise<void> =>
  waitUntil(what, check, timeoutMs, 250);

describe("the npm packages, installed from their tarballs: the plugin into a fresh app with its own node-media-server, the command into a fresh prefix", function () {
  this.timeout(600000);
  const timings: Timings = {};
  let work: string;
  let app: string;
  const tarballs = { plugin: "", server: "" };
  const tarballFiles = { plugin: [] as string[], server: [] as string[] };
  /** What installing the plugin added to the NMS app: disk use (du, bytes) and top-level packages. */
  const added = { bytes: 0, packages: [] as string[] };

  before(function () {
    this.timeout(900000);
    work = mkdtempSync(join(tmpdir(), "nms-viewer-auth-pkg-"));
    // As a release is made: both workspaces packed from the root (each package's prepack builds it).
    const packed = run("npm", ["pack", "--workspaces", "--json", "--pack-destination", work], REPO, 600000);
    timings.packMs = packed.ms;
    const infos = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as {
      name: string;
      filename: string;
      files: { path: string }[];
    }[];
    for (const info of infos) {
      const which = info.name === "nms-viewer-auth" ? "plugin" : "server";
      tarballs[which] = join(work, info.filename);
      tarballFiles[which] = info.files.map((f) => f.path);
    }
    app = join(work, "app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "an-nms-app", version: "1.0.0", private: true }, null, 2));
    run("npm", [...NPM_INSTALL, "node-media-server@4.4.3", "@types/node@20.19.25"], app, 300000);
    const before = { bytes: diskUse(join(app, "node_modules")), packages: topLevelPackages(join(app, "node_modules")) };
    const installed = run("npm", [...NPM_INSTALL, tarballs.plugin], app, 300000);
    timings.installMs = installed.ms;
    added.bytes = diskUse(join(app, "node_modules")) - before.bytes;
    added.packages = topLevelPackages(join(app, "node_modules")).filter((name) => !before.packages.includes(name));
    // A second NMS copy inside the plugin's folder, as npm leaves one when the app's NMS differs from
    // what the plugin would resolve: the gate must still wrap the app's own.
    cpSync(join(app, "node_modules/node-media-server"), join(app, "node_modules/nms-viewer-auth/node_modules/node-media-server"), {
      recursive: true,
    });
  });

  after(() => {
    console.log(`      package timings: ${JSON.stringify(timings)}; the plugin added ${added.bytes} bytes: ${added.packages.join(", ")}`);
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it("the plugin's tarball: bundled ESM and CommonJS, declarations, the tools, the console and the schema; no sources, tests or source maps", () => {
    for (const file of [
      "dist/esm/index.js",
      "dist/esm/server-kit.js",
      "dist/types/index.d.ts",
      "dist/cjs/index.js",
      "dist/cjs/types/index.d.ts",
      "dist/cjs/package.json",
      "dist/esm/cli/make-link.js",
      "dist/esm/cli/hash-password.js",
      "dist/esm/cli/make-token.js",
      "dist/THIRD-PARTY-LICENSES.txt",
      "console/index.html",
      "schema/config.schema.json",
      "README.md",
      "LICENSE",
      "CHANGELOG.md",
    ]) {
      expect(tarballFiles.plugin, file).to.include(file);
    }
    expect(
      tarballFiles.plugin.filter(
        (f) => f.endsWith(".map") || /\.ts$/.test(f.replace(/\.d\.c?ts$/, "")) || /^(test|src|samples|docs)\//.test(f),
      ),
    ).to.deep.equal([]);
  });

  it("the command's tarball: the compiled server, the quick starts and kit, the schema and the reference", () => {
    for (const file of [
      "dist/main.js",
      "samples/quickstart.yaml",
      "samples/quickstart-users.yaml",
      "samples/config.sample.yaml",
      "samples/grafana-dashboard.json",
      "samples/nms4-app.mjs",
      "samples/systemd/nms-viewer-auth.service",
      "schema/config.schema.json",
      "docs/operations.md",
      "README.md",
      "LICENSE",
    ]) {
      expect(tarballFiles.server, file).to.include(file);
    }
    expect(tarballFiles.server.filter((f) => f.endsWith(".map") || /^(test|src)\//.test(f) || f.endsWith(".png"))).to.deep.equal([]);
  });

  it("the plugin adds at most 15 MB and three packages beside NMS, with no native build, no player, no Redis client, no pretty-printer", () => {
    expect(added.bytes, "disk use the plugin added").to.be.at.most(15_000_000);
    expect(added.packages.sort()).to.deep.equal(["htm", "nms-viewer-auth", "zod"]);
    const manifest = JSON.parse(readFileSync(join(app, "node_modules/nms-viewer-auth/package.json"), "utf8")) as {
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
      dependencies: Record<string, string>;
      scripts?: Record<string, string>;
    };
    expect(manifest.peerDependencies["node-media-server"], "the peer range is the one attach enforces").to.equal(SUPPORTED_NMS_RANGE);
    for (const optional of ["better-sqlite3", "redis", "maxmind", "pino-pretty", "hls.js"]) {
      expect(manifest.peerDependenciesMeta[optional]?.optional, optional).to.equal(true);
      expect(existsSync(join(app, "node_modules", optional)), `${optional} installed into the app`).to.equal(false);
    }
    for (const never of ["tsx", "typescript", "fluent-ffmpeg", "undici", "pino", "prom-client"])
      expect(existsSync(join(app, "node_modules", never)), `${never} installed into the app`).to.equal(false);
    expect(
      Object.keys(manifest.scripts ?? {}).filter((name) => /^(pre|post)?install$|^prepare$/.test(name)),
      "install scripts",
    ).to.deep.equal([]);
    const native = spawnSync("find", [join(app, "node_modules/nms-viewer-auth"), "-name", "*.node", "-o", "-name", "binding.gyp"], {
      encoding: "utf8",
    });
    expect(native.stdout.trim(), "native code in the plugin").to.equal("");
  });

  it("its declarations compile in a TypeScript consumer (ESM and CommonJS) with skipLibCheck off", function () {
    mkdirSync(join(app, "ts"));
    writeFileSync(
      join(app, "ts/esm.mts"),
      `
import { attachViewerAuth, SUPPORTED_NMS_RANGE, VaError, type ViewerAuthHandle } from "nms-viewer-auth";
export function gate(nms: object): ViewerAuthHandle {
  return attachViewerAuth(nms, { auth: { defaultAction: "deny", allowIps: ["10.0.0.0/8"] } });
}
// @ts-expect-error: real declarations, not \`any\`: the range is a string
export const range: number = SUPPORTED_NMS_RANGE;
export const isVaError = (e: unknown): boolean => e instanceof VaError && e.code.startsWith("VA_ERR_");
`,
    );
    writeFileSync(
      join(app, "ts/cjs.cts"),
      `
import viewerAuth = require("nms-viewer-auth");
export function gate(nms: object): viewerAuth.ViewerAuthHandle {
  return viewerAuth.attachViewerAuth(nms, { auth: { defaultAction: "deny" } });
}
// @ts-expect-error: the CommonJS declarations are real too
export const range: number = viewerAuth.SUPPORTED_NMS_RANGE;
`,
    );
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: "nodenext",
          moduleResolution: "nodenext",
          target: "es2022",
          skipLibCheck: false,
          noEmit: true,
          types: ["node"],
        },
        include: ["ts/*"],
      }),
    );
    const tsc = run(process.execPath, [join(REPO, "node_modules/typescript/bin/tsc"), "-p", "."], app, 300000);
    timings.tscMs = tsc.ms;
  });

  describe("the command, installed as an operator does: both tarballs into a fresh folder, the quick start copied out of the package", function () {
    let operator: string;
    let server: ChildProcess | undefined;
    let output = "";
    const ports = { rtmp: 0, http: 0, api: 0 };

    before(async function () {
      if (!hasFfmpeg) this.skip();
      this.timeout(900000);
      operator = join(work, "operator");
      mkdirSync(operator);
      writeFileSync(join(operator, "package.json"), JSON.stringify({ name: "an-operator", version: "1.0.0", private: true }, null, 2));
      timings.operatorInstallMs = run("npm", [...NPM_INSTALL, tarballs.plugin, tarballs.server], operator, 600000).ms;
      cpSync(join(operator, "node_modules/nms-viewer-auth-server/samples"), join(operator, "samples"), { recursive: true });
    });

    after(async () => {
      await stopProcess(server);
      if (server !== undefined && server.exitCode !== 0 && server.signalCode === null) console.log(output);
    });

    const bin = () => join(operator, "node_modules/.bin/nms-viewer-auth");

    it("nms-viewer-auth --version and --check-config on the shipped quick start run with plain node", () => {
      const manifest = JSON.parse(readFileSync(join(operator, "node_modules/nms-viewer-auth-server/package.json"), "utf8")) as {
        version: string;
      };
      expect(run(bin(), ["--version"], operator, 60000).stdout.trim()).to.equal(manifest.version);
      const checked = run(bin(), ["--config", "samples/quickstart.yaml", "--check-config"], operator, 60000);
      expect(checked.stdout.trim()).to.equal("OK: samples/quickstart.yaml");
    });

    it("starts the quick start: HLS plays with the demo token and is refused without it; SIGTERM stops it cleanly", async () => {
      ports.rtmp = await freePort();
      ports.http = await freePort();
      ports.api = await freePort();
      // The quick start writes its API token to data/api-token on the first start, as it does for an operator.
      server = spawn(bin(), ["--config", "samples/quickstart.yaml"], {
        cwd: operator,
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          ...process.env,
          VA_RTMP_PORT: String(ports.rtmp),
          VA_HTTP_PORT: String(ports.http),
          VA_API_PORT: String(ports.api),
        },
      });
      const keep = (d: Buffer) => {
        output += d.toString();
        recordExternalLog(d.toString());
      };
      server.stdout!.on("data", keep);
      server.stderr!.on("data", keep);
      const base = `http://127.0.0.1:${ports.http}/live/test`;
      let segmentUrl: string | undefined;
      await waitFor(
        "a segment in the quick start's media playlist",
        async () => {
          const master = await fetch(`${base}/index.m3u8?token=demo`).catch(() => undefined);
          if (master?.status !== 200) return false;
          const masterText = await master.text();
          const mediaUri = masterText.split("\n").find((line) => line !== "" && !line.startsWith("#"));
          if (mediaUri === undefined) return false;
          const mediaUrl = new URL(mediaUri, `${base}/index.m3u8`);
          const media = await (await fetch(mediaUrl)).text();
          const segment = media.split("\n").find((line) => /\.ts(\?|$)/.test(line));
          if (segment !== undefined) segmentUrl = new URL(segment, mediaUrl).href;
          return segmentUrl !== undefined;
        },
        90000,
      );
      const segment = await fetch(segmentUrl!);
      const bytes = Buffer.from(await segment.arrayBuffer());
      expect(segment.status).to.equal(200);
      expect(bytes[0], "an MPEG-TS segment").to.equal(0x47);
      expect(bytes.length).to.be.greaterThan(10000);
      const refused = await fetch(`${base}/index.m3u8`);
      expect(refused.status).to.equal(403);
      expect(await refused.text()).not.to.include("#EXTM3U");
      expect(output, "the served URLs are logged").to.include("server.serving");
      const exited = new Promise<number | null>((done) => server!.once("exit", (code) => done(code)));
      server.kill("SIGTERM");
      expect(await exited).to.equal(0);
    });
  });

  it("installs make-link, hash-password and make-token as commands that run with plain node and answer --help naming themselves", () => {
    for (const name of ["make-link", "hash-password", "make-token"]) {
      const help = run(join(app, "node_modules/.bin", name), ["--help"], app, 60000).stdout;
      expect(help, name).to.match(new RegExp(`^usage: (echo -n '<password>' \\| )?${name}\\b`));
      expect(help, name).to.not.include("npm run");
    }
    const token = run(join(app, "node_modules/.bin/make-token"), [], app, 60000).stdout;
    expect(token, "make-token, run through its link in node_modules/.bin, prints a token").to.match(/^[A-Za-z0-9_-]{43}\n$/);
  });

  it('works from CommonJS: require("nms-viewer-auth") gates the app\'s NMS 4.4.3 and refuses what it cannot prove', () => {
    // A deny-listed viewer (loopback) proves the gate is on the app's NMS; then what attach refuses.
    writeFileSync(
      join(app, "check.cjs"),
      `
const NodeMediaServer = require("node-media-server");
const http = require("node:http");
const { once } = require("node:events");
const path = require("node:path");
const { attachViewerAuth, VaError } = require("nms-viewer-auth");
const codeOf = (fn) => { try { fn(); return "attached"; } catch (e) { return e instanceof VaError ? e.code + ": " + e.message : String(e); } };
(async () => {
  const out = {};
  out.plainObject = codeOf(() => attachViewerAuth({}, {}));
  // Another release of NMS (a copy whose package.json says 4.5.0) is refused, naming the supported ones.
  const Other = require(path.join(__dirname, "other-nms"));
  out.otherRelease = codeOf(() => attachViewerAuth(new Other({ store: { path: process.argv[2] + "/other" } }), {}));
  const first = new NodeMediaServer({ store: { path: process.argv[2] + "/first" } });
  const nms = new NodeMediaServer({ bind: "127.0.0.1", rtmp: { port: "0" }, http: { port: "0" }, store: { path: process.argv[2] + "/main" } });
  // NMS keeps one process-wide Context: an instance constructed before the last one is not what it serves.
  out.staleInstance = codeOf(() => attachViewerAuth(first, {}));
  const auth = attachViewerAuth(nms, { log: { level: "silent", nmsLevel: "error" }, auth: { defaultAction: "allow", denyIps: ["127.0.0.0/8"] } });
  const server = nms.httpServer.httpServer;
  const listening = once(server, "listening");
  await nms.run();
  await listening;
  out.flv = await new Promise((done) => http.get({ host: "127.0.0.1", port: server.address().port, path: "/live/test.flv" }, (res) => {
    let bytes = 0; res.on("data", (c) => bytes += c.length); res.on("end", () => done({ status: res.statusCode, bytes }));
  }));
  await auth.detach();
  console.log(JSON.stringify(out));
  process.exit(0);
})();
`,
    );
    const other = join(app, "other-nms");
    cpSync(join(app, "node_modules/node-media-server"), other, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(other, "package.json"), "utf8")) as { version: string };
    writeFileSync(join(other, "package.json"), JSON.stringify({ ...manifest, version: "4.5.0" }));
    const checked = run(process.execPath, [join(app, "check.cjs"), join(work, "check-store")], app, 60000);
    const out = JSON.parse(checked.stdout.trim().split("\n").at(-1)!) as Record<string, string | { status: number; bytes: number }>;
    expect(out.flv, "HTTP-FLV from a deny-listed address").to.deep.equal({ status: 403, bytes: "Forbidden\n".length });
    expect(out.plainObject).to.match(/^VA_ERR_NMS_INSTANCE: /);
    expect(out.otherRelease).to.equal(
      `VA_ERR_NMS_UNSUPPORTED: node-media-server 4.5.0 is not supported; supported releases: ${SUPPORTED_NMS_RANGE}`,
    );
    expect(out.staleInstance).to.match(/^VA_ERR_NMS_INSTANCE: .*store/);
  });

  describe("the NMS 4 sample app (samples/nms4-app.mjs), started with plain node", function () {
    let nms: ChildProcess | undefined;
    let publisher: ChildProcess | undefined;
    let output = "";
    const ports = { rtmp: 0, http: 0, api: 0 };
    const flvUrl = (query = "") => `http://127.0.0.1:${ports.http}/live/cam.flv${query}`;

    before(async function () {
      if (!hasFfmpeg) this.skip();
      cpSync(join(REPO, "samples/nms4-app.mjs"), join(app, "app.mjs"));
      writeFileSync(join(app, "viewers.yaml"), `users:\n  - login: viewer1\n    tokens: [${TOKEN}]\n    packages: ["*"]\n`);
      auditSecrets(TOKEN, API_TOKEN);
      ports.rtmp = await freePort();
      ports.http = await freePort();
      ports.api = await freePort();
      nms = spawn(process.execPath, ["app.mjs"], {
        cwd: app,
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          ...process.env,
          NMS_BIND: "127.0.0.1",
          RTMP_PORT: String(ports.rtmp),
          HTTP_PORT: String(ports.http),
          NMS_STORE: join(work, "app-store"),
          VA_API_PORT: String(ports.api),
          VA_API_TOKEN: API_TOKEN,
        },
      });
      const keep = (d: Buffer) => {
        output += d.toString();
        recordExternalLog(d.toString());
      };
      nms.stdout!.on("data", keep);
      nms.stderr!.on("data", keep);
      await waitFor("the app's API", async () => (await apiGet("/api/health")).status === 200);
      publisher = publishTestPattern(`rtmp://127.0.0.1:${ports.rtmp}/live/cam`);
      await waitFor("media from the published stream", async () => (await httpGetFor(flvUrl(`?token=${TOKEN}`), 1500)).bytes > 0, 30000);
    });

    after(async () => {
      await stopProcess(publisher);
      await stopProcess(nms);
      if (nms !== undefined && nms.exitCode !== 0 && nms.signalCode === null) console.log(output);
    });

    const apiGet = (path: string, method = "GET") => apiCall(ports.api, path, method);

    it("HTTP-FLV: a token plays media, no token gets 403 and 0 media bytes", async () => {
      const allowed = await httpGetFor(flvUrl(`?token=${TOKEN}`), 2000);
      expect(allowed.status).to.equal(200);
      expect(allowed.body.subarray(0, 3).toString("latin1"), "an FLV stream").to.equal("FLV");
      expect(allowed.bytes).to.be.greaterThan(10000);
      for (const query of ["", "?token=wrong-token-000"]) {
        const refused = await httpGetFor(flvUrl(query), 2000);
        expect(refused.status, query).to.equal(403);
        expect(refused.body.toString(), "the refusal only, no FLV").to.equal("Forbidden\n");
      }
    });

    it("WS-FLV: no token is closed with 4403 before any media byte", async () => {
      const refused = await wsReadFor(`ws://127.0.0.1:${ports.http}/live/cam.flv`, 3000);
      expect(refused.bytes).to.equal(0);
      expect(refused.closeCode).to.equal(4403);
    });

    it("RTMP: a token plays media (ffmpeg), no token gets NetStream.Play.Failed and 0 media bytes", async () => {
      const player = await playWithFfmpeg(`rtmp://127.0.0.1:${ports.rtmp}/live/cam?token=${TOKEN}`, { seconds: 2 });
      expect(player.stdoutBytes, player.stderr).to.be.greaterThan(10000);
      const raw = await RawRtmpClient.open(ports.rtmp);
      try {
        await raw.handshake();
        raw.connect(connectObject(ports.rtmp));
        raw.play("cam");
        // NMS answers the play command (NetStream.Play.Start) before the gate holds it; media never follows.
        await raw.waitForStatus(/NetStream\.Play\.Failed/, 10000);
        expect(await raw.closesWithin(10000), "the refused player is disconnected").to.equal(true);
        expect(raw.mediaBytes()).to.equal(0);
      } finally {
        raw.socket.destroy();
      }
    });

    it("closing the session from the management API cuts the viewer", async () => {
      type Listed = { sessions: { id: string; state: string; protocol: string }[] };
      const playing = async () => {
        const { status, body } = await apiGet("/api/sessions?protocol=http-flv");
        expect(status).to.equal(200);
        return (JSON.parse(body) as Listed).sessions.filter((each) => each.state === "playing").map((each) => each.id);
      };
      const before = new Set(await playing());
      const controller = new AbortController();
      const viewing = httpGetFor(flvUrl(`?token=${TOKEN}`), 60000, { abortSignal: controller.signal });
      let id: string | undefined;
      await waitFor("the viewer's session playing in the API", async () => {
        id = (await playing()).find((each) => !before.has(each));
        return id !== undefined;
      });
      await sleep(1000); // let media flow to the viewer first
      const closedAt = Date.now();
      expect((await apiGet(`/api/sessions/${id}`, "DELETE")).status).to.equal(200);
      const deadline = setTimeout(() => controller.abort(), 15000);
      const seen = await viewing;
      clearTimeout(deadline);
      expect(seen.error, "ended by the server, not by the test's deadline").to.equal(undefined);
      expect(Date.now() - closedAt).to.be.lessThan(15000);
      expect(seen.status).to.equal(200);
      expect(seen.body.subarray(0, 3).toString("latin1"), "it was playing FLV before").to.equal("FLV");
      expect(seen.bytes).to.be.greaterThan(10000);
      expect(await playing(), "the session is gone from the API").not.to.include(id);
    });
  });

  describe("the NMS 2.7 sample app (samples/nms2-app.js, CommonJS, trans HLS), in its own fresh app, started with plain node", function () {
    let nms: ChildProcess | undefined;
    let publisher: ChildProcess | undefined;
    let output = "";
    let app2: string;
    let mediaroot: string;
    const ports = { rtmp: 0, http: 0, api: 0 };
    const base = () => `http://127.0.0.1:${ports.http}`;

    before(async function () {
      if (!hasFfmpeg) this.skip();
      this.timeout(600000);
      app2 = join(work, "app-nms2");
      mkdirSync(app2);
      writeFileSync(join(app2, "package.json"), JSON.stringify({ name: "an-nms2-app", version: "1.0.0", private: true }, null, 2));
      run("npm", [...NPM_INSTALL, tarballs.plugin, "node-media-server@2.7.4"], app2, 300000);
      cpSync(join(REPO, "samples/nms2-app.js"), join(app2, "app.js"));
      writeFileSync(join(app2, "viewers.yaml"), `users:\n  - login: viewer1\n    tokens: [${TOKEN}]\n    packages: ["*"]\n`);
      auditSecrets(TOKEN, API_TOKEN, NMS_API_PASS);
      mediaroot = join(work, "media2");
      ports.rtmp = await freePort();
      ports.http = await freePort();
      ports.api = await freePort();
      const ffmpeg = spawnSync("sh", ["-c", "command -v ffmpeg"], { encoding: "utf8" }).stdout.trim();
      nms = spawn(process.execPath, ["app.js"], {
        cwd: app2,
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          ...process.env,
          RTMP_PORT: String(ports.rtmp),
          HTTP_PORT: String(ports.http),
          MEDIAROOT: mediaroot,
          FFMPEG: ffmpeg,
          VA_API_PORT: String(ports.api),
          VA_API_TOKEN: API_TOKEN,
          NMS_API_USER,
          NMS_API_PASS,
        },
      });
      const keep = (d: Buffer) => {
        output += d.toString();
        recordExternalLog(d.toString());
      };
      nms.stdout!.on("data", keep);
      nms.stderr!.on("data", keep);
      await waitFor("the app's API", async () => (await apiGet("/api/health")).status === 200);
      publisher = publishTestPattern(`rtmp://127.0.0.1:${ports.rtmp}/live/cam`);
      await waitFor("the trans HLS playlist", () => existsSync(join(mediaroot, "live/cam/index.m3u8")), 30000);
    });

    after(async () => {
      await stopProcess(publisher);
      await stopProcess(nms);
      if (nms !== undefined && nms.exitCode !== 0 && nms.signalCode === null) console.log(output);
    });

    const apiGet = (path: string, method = "GET") => apiCall(ports.api, path, method);

    it("a token plays RTMP, HTTP-FLV and the trans HLS", async () => {
      const flv = await httpGetFor(`${base()}/live/cam.flv?token=${TOKEN}`, 2000);
      expect(flv.status).to.equal(200);
      expect(flv.body.subarray(0, 3).toString("latin1")).to.equal("FLV");
      const rtmp = await playWithFfmpeg(`rtmp://127.0.0.1:${ports.rtmp}/live/cam?token=${TOKEN}`, { seconds: 2 });
      expect(rtmp.stdoutBytes, rtmp.stderr).to.be.greaterThan(10000);
      const hls = await playWithFfmpeg(`${base()}/live/cam/index.m3u8?token=${TOKEN}`, { seconds: 3, decode: true });
      expect(hls.code, hls.stderr.slice(-400)).to.equal(0);
      expect(hls.frames).to.be.greaterThan(20);
    });

    it("no token: 0 media bytes on HTTP-FLV, WS-FLV and RTMP, and 403 on every HLS path form", async () => {
      const flv = await httpGetFor(`${base()}/live/cam.flv`, 2000);
      expect(flv.status).to.equal(403);
      expect(flv.body.toString()).to.equal("Forbidden\n");
      const ws = await wsReadFor(`ws://127.0.0.1:${ports.http}/live/cam.flv`, 3000);
      expect(ws.bytes).to.equal(0);
      expect(ws.closeCode).to.equal(4403);
      const rtmp = await playWithFfmpeg(`rtmp://127.0.0.1:${ports.rtmp}/live/cam`, { seconds: 3 });
      expect(rtmp.stdoutBytes).to.equal(0);
      const segment = readFileSync(join(mediaroot, "live/cam/index.m3u8"), "utf8")
        .split("\n")
        .find((l) => l.endsWith(".ts"))!;
      for (const path of [
        "/live/cam/index.m3u8",
        `/live/cam/${segment}`,
        "/live/cam/index0.ts",
        "/other/cam/index.m3u8",
        `/live/cam/index.m3u8?token=wrong-token-000`,
        `/live/cam/${segment}?vas=AAAAAAAAAAAAAAAAAAAAAA`,
      ]) {
        for (const init of [{}, { method: "HEAD" }, { headers: { Range: "bytes=0-99" } }] as RequestInit[]) {
          const res = await fetch(`${base()}${path}`, init);
          const body = Buffer.from(await res.arrayBuffer());
          expect(res.status, `${init.method ?? "GET"} ${path}`).to.equal(403);
          expect(body.includes("#EXTM3U") || body[0] === 0x47, `${path} leaked media`).to.equal(false);
        }
      }
      for (const path of ["/live/cam/index.mpd", "/live/cam/..%2fcam/index.m3u8", "/live/cam/%2569ndex.m3u8"]) {
        const res = await fetch(`${base()}${path}`);
        expect([400, 403, 404], path).to.include(res.status);
        expect(Buffer.from(await res.arrayBuffer()).includes("#EXTM3U"), path).to.equal(false);
      }
    });

    it("NMS 2.7's own /api is closed to anonymous callers: no viewer list, no cutting a publisher (its login still works)", async () => {
      for (const [method, path] of [
        ["GET", "/api/streams"],
        ["GET", "/API/streams"],
        ["GET", "/api/server"],
        ["DELETE", "/api/streams/live/cam"],
      ]) {
        const res = await fetch(`${base()}${path}`, {
          method,
          headers: { Authorization: `Basic ${Buffer.from("nms-admin:wrong-password").toString("base64")}` },
        });
        expect(res.status, `${method} ${path} with a wrong login`).to.equal(401);
        const anonymous = await fetch(`${base()}${path}`, { method });
        const body = await anonymous.text();
        expect(anonymous.status, `${method} ${path}`).to.equal(401);
        expect(body, `${method} ${path}`).to.not.include("127.0.0.1");
      }
      const flv = await httpGetFor(`${base()}/live/cam.flv?token=${TOKEN}`, 1500);
      expect(flv.bytes, "the publisher was not cut").to.be.greaterThan(10000);
      const login = { Authorization: `Basic ${Buffer.from(`${NMS_API_USER}:${NMS_API_PASS}`).toString("base64")}` };
      const streams = await fetch(`${base()}/api/streams`, { headers: login });
      expect(streams.status, "NMS's API with its login").to.equal(200);
      expect(JSON.stringify(await streams.json())).to.include("cam");
    });

    it("the sample refuses to start without a login for NMS's own /api", () => {
      const result = spawnSync(process.execPath, ["app.js"], {
        cwd: app2,
        encoding: "utf8",
        timeout: 20000,
        env: {
          ...process.env,
          RTMP_PORT: "0",
          HTTP_PORT: "0",
          MEDIAROOT: mediaroot,
          VA_API_PORT: "0",
          VA_API_TOKEN: API_TOKEN,
          NMS_API_USER: "",
          NMS_API_PASS: "",
        },
      });
      recordExternalLog(result.stdout + result.stderr);
      expect(result.status).to.not.equal(0);
      expect(result.stderr).to.include("set NMS_API_USER and NMS_API_PASS");
    });

    it("closing the session from the management API cuts the viewer", async () => {
      const controller = new AbortController();
      const viewing = httpGetFor(`${base()}/live/cam.flv?token=${TOKEN}`, 60000, { abortSignal: controller.signal });
      type Listed = { sessions: { id: string; state: string }[] };
      let id: string | undefined;
      await waitFor("the viewer's session playing in the API", async () => {
        const { body } = await apiGet("/api/sessions?protocol=http-flv");
        id = (JSON.parse(body) as Listed).sessions.find((each) => each.state === "playing")?.id;
        return id !== undefined;
      });
      await sleep(1000);
      expect((await apiGet(`/api/sessions/${id}`, "DELETE")).status).to.equal(200);
      const deadline = setTimeout(() => controller.abort(), 15000);
      const seen = await viewing;
      clearTimeout(deadline);
      // The server ends the response and destroys the socket: the client sees the end or an abort, never the test's deadline.
      expect(seen.error, "ended by the server, not by the test's deadline").to.not.equal("aborted by test");
      expect(seen.bytes).to.be.greaterThan(10000);
    });
  });
});

/** Disk use of a folder in bytes (`du`, as an operator measures it). */
function diskUse(folder: string): number {
  return Number(spawnSync("du", ["-sk", folder], { encoding: "utf8" }).stdout.split("\t")[0]) * 1024;
}

/** The packages directly under a node_modules folder (scoped ones as `@scope/name`). */
function topLevelPackages(folder: string): string[] {
  return readdirSync(folder)
    .filter((name) => !name.startsWith("."))
    .flatMap((name) => (name.startsWith("@") ? readdirSync(join(folder, name)).map((inner) => `${name}/${inner}`) : [name]));
}

/** A management API call on the installed app; status 0 while it does not answer yet. */
async function apiCall(port: number, path: string, method: string): Promise<{ status: number; body: string }> {
  try {
    const res = await apiFetch(`http://127.0.0.1:${port}${path}`, { method, headers: { authorization: `Bearer ${API_TOKEN}` } });
    return { status: res.status, body: await res.text() };
  } catch {
    return { status: 0, body: "" };
  }
}
