import { expect } from "chai";
import { buildPackages, SERVER_BIN } from "../helpers/build-packages.js";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { waitFor } from "../helpers/wait-for.js";
import { spawnLogged } from "../helpers/spawned-process.js";
import { recordExternalLog } from "../helpers/log-audit.js";
import { TEST_API_TOKEN } from "../helpers/api-tokens.js";

/** What package.json's `bin` runs. */
const BIN = SERVER_BIN;
const CHANNEL =
  "  - { id: a, source: { type: testPattern, width: 160, height: 120, fps: 10 }, transcode: { mode: h264, preset: ultrafast, videoBitrateKbps: 100 } }";
const STACK_FRAME = /\n\s+at /;

const COUNTRY_DB = "node_modules/@ip-location-db/geolite2-country-mmdb/geolite2-country.mmdb";

describe("the bin's start checks: --check-config proves what start needs, busy ports, the URLs it serves", function () {
  this.timeout(120_000);
  let dir: string;
  const listeners: Server[] = [];

  before(function () {
    if (!hasFfmpeg) this.skip();
    dir = mkdtempSync(join(tmpdir(), "va-startup-"));
    buildPackages();
  });
  after(() => {
    for (const server of listeners) server.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  function configFile(name: string, lines: string[]): string {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, [...lines, ""].join("\n"));
    return file;
  }

  function bin(args: string[], binFile = BIN) {
    const out = spawnSync(process.execPath, [binFile, ...args], { encoding: "utf8", timeout: 60_000 });
    recordExternalLog(out.stdout + out.stderr);
    return out;
  }

  async function busyPort(): Promise<number> {
    const server = createServer();
    listeners.push(server);
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    return (server.address() as { port: number }).port;
  }

  it("a missing or invalid users file, a CA file that is no certificate, an ffprobe that is not there and an unusable data directory: every one named, exit 1, for --check-config and for start alike", () => {
    writeFileSync(join(dir, "not-a-folder"), "");
    writeFileSync(join(dir, "users-invalid.yaml"), "users: [{ name: a, bogus: 1 }]\n");
    writeFileSync(join(dir, "ca.pem"), "not a certificate\n");
    const cases = [
      configFile("missing-users", [
        `server: { rtmpPort: 0, httpPort: 0, dataDir: ${JSON.stringify(join(dir, "not-a-folder", "data"))}, ffprobePath: /no/such/ffprobe }`,
        `auth: { usersFile: ${JSON.stringify(join(dir, "no-such-users.yaml"))}, backend: { type: http-request, url: "http://127.0.0.1:9/auth", caFile: ${JSON.stringify(join(dir, "ca.pem"))} } }`,
        "channels:",
        CHANNEL,
      ]),
      configFile("bad-users", [
        `server: { rtmpPort: 0, httpPort: 0, dataDir: ${JSON.stringify(join(dir, "bad-users-data"))} }`,
        `auth: { usersFile: ${JSON.stringify(join(dir, "users-invalid.yaml"))} }`,
        "channels: []",
      ]),
    ];
    for (const args of [["--check-config"], []]) {
      const first = bin(["--config", cases[0]!, ...args]);
      expect(first.status, first.stdout + first.stderr).to.equal(1);
      expect(first.stdout).not.to.match(/^OK/);
      expect(first.stderr)
        .to.include(`auth.usersFile: cannot read ${join(dir, "no-such-users.yaml")}`)
        .and.include("auth.backend.caFile:")
        .and.include("is not a PEM certificate")
        .and.include('server.ffprobePath: "/no/such/ffprobe" not found: install ffprobe or set server.ffprobePath to its path')
        .and.include("server.dataDir:")
        .and.include("is a file; point server.dataDir elsewhere");
      expect(first.stderr).to.include("has 4 error(s)");
      const second = bin(["--config", cases[1]!, ...args]);
      expect(second.status, second.stdout + second.stderr).to.equal(1);
      expect(second.stderr).to.match(/auth\.usersFile: .*users-invalid\.yaml: users\[0\]/);
      for (const out of [first, second]) expect(out.stdout + out.stderr).not.to.match(STACK_FRAME);
    }
  });

  it("a weak JWT secret, a missing geo database and one that is no MaxMind file: each named, exit 1, for --check-config and for start alike", () => {
    writeFileSync(join(dir, "not-mmdb.mmdb"), "plain text, not a database\n");
    const schemaCase = configFile("jwt-geo-schema", [
      `server: { rtmpPort: 0, httpPort: 0, dataDir: ${JSON.stringify(join(dir, "jwt-geo-data"))} }`,
      `auth: { jwt: { secrets: [too-short] }, geo: { asnDatabase: ${JSON.stringify(join(dir, "no-such-asn.mmdb"))} } }`,
      "channels: []",
    ]);
    const fileCase = configFile("geo-not-mmdb", [
      `server: { rtmpPort: 0, httpPort: 0, dataDir: ${JSON.stringify(join(dir, "geo-file-data"))} }`,
      `auth: { geo: { countryDatabase: ${JSON.stringify(join(dir, "not-mmdb.mmdb"))}, allowCountries: [US] } }`,
      "channels: []",
    ]);
    for (const args of [["--check-config"], []]) {
      const schema = bin(["--config", schemaCase, ...args]);
      expect(schema.status, schema.stdout + schema.stderr).to.equal(1);
      expect(schema.stderr)
        .to.include(`auth.jwt.secrets[0]: "<redacted>" is too weak: an HS secret needs at least 32 bytes`)
        .and.include(`auth.geo.asnDatabase: ${JSON.stringify(join(dir, "no-such-asn.mmdb"))} is not a readable file`)
        .and.not.include("too-short");
      const file = bin(["--config", fileCase, ...args]);
      expect(file.status, file.stdout + file.stderr).to.equal(1);
      expect(file.stderr).to.include("auth.geo.countryDatabase:").and.include("is not a MaxMind DB (.mmdb) file");
      for (const out of [schema, file]) expect(out.stdout + out.stderr).not.to.match(STACK_FRAME);
    }
  });

  it("without the fluent-ffmpeg and better-sqlite3 packages, --check-config and start name both with the install command, no stack trace; so does the plugin with webhooks", () => {
    // An install of both packages that lost two of their packages: the built trees and every other module.
    const app = join(dir, "app");
    mkdirSync(join(app, "node_modules"), { recursive: true });
    for (const [folder, name] of [
      ["plugin", "nms-viewer-auth"],
      ["server", "nms-viewer-auth-server"],
    ] as const) {
      cpSync(join(folder, "dist"), join(app, "node_modules", name, "dist"), { recursive: true });
      cpSync(join(folder, "package.json"), join(app, "node_modules", name, "package.json"));
    }
    const modules = realpathSync("node_modules");
    for (const name of readdirSync(modules)) {
      if (["fluent-ffmpeg", "better-sqlite3", "maxmind", ".bin", "nms-viewer-auth", "nms-viewer-auth-server"].includes(name)) continue;
      symlinkSync(join(modules, name), join(app, "node_modules", name));
    }
    const installedBin = join(app, "node_modules/nms-viewer-auth-server/dist/main.js");
    const file = configFile("no-peers", [
      `server: { rtmpPort: 0, httpPort: 0, dataDir: ${JSON.stringify(join(dir, "no-peers-data"))} }`,
      "events: { webhooks: [{ url: http://127.0.0.1:9/hook, secret: webhook-secret-0123456789 }] }",
      `auth: { geo: { countryDatabase: ${JSON.stringify(resolve(COUNTRY_DB))}, denyCountries: [RU] } }`,
      "channels:",
      CHANNEL,
    ]);
    for (const args of [["--check-config"], []]) {
      const out = bin(["--config", file, ...args], installedBin);
      expect(out.status, out.stdout + out.stderr).to.equal(1);
      expect(out.stderr)
        .to.include("channels: the fluent-ffmpeg package is not installed and the channels need it: npm install fluent-ffmpeg@2.1.3")
        .and.include("stats.file: the better-sqlite3 package is not installed")
        .and.include("events.webhooks: the better-sqlite3 package is not installed and webhooks (their outbox) need it")
        .and.include("npm install better-sqlite3@12")
        .and.include("auth.geo.countryDatabase: the maxmind package is not installed and the geo databases need it: npm install maxmind@5");
      expect(out.stdout + out.stderr).not.to.match(STACK_FRAME);
    }
    // The plugin alone (an NMS app): building with webhooks fails at once, naming the key.
    const script = [
      `import { buildViewerAuth, parseConfig, pluginConfigSchema } from ${JSON.stringify(join(app, "node_modules/nms-viewer-auth/dist/esm/index.js"))};`,
      "const config = parseConfig(pluginConfigSchema, { events: { webhooks: [{ url: 'http://127.0.0.1:9/hook', secret: 'webhook-secret-0123456789' }], outbox: { file: '/tmp/never-opened.sqlite' } } });",
      "try { buildViewerAuth(config); console.log('built'); } catch (error) { console.error(error.message); process.exit(3); }",
    ].join("\n");
    const plugin = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", cwd: app, timeout: 60_000 });
    expect(plugin.status, plugin.stdout + plugin.stderr).to.equal(3);
    expect(plugin.stderr).to.include(
      "events.webhooks: needs the better-sqlite3 package for the webhook outbox: npm install better-sqlite3@12",
    );
  });

  for (const [key, variable] of [
    ["server.httpPort", "VA_HTTP_PORT"],
    ["server.rtmpPort", "VA_RTMP_PORT"],
    ["api.port", "VA_API_PORT"],
  ] as const) {
    it(`a busy ${key}: one line naming ${key} and ${variable}, as the last word, exit 1`, async () => {
      const port = await busyPort();
      const ports = { "server.httpPort": 0, "server.rtmpPort": 0, "api.port": 0, [key]: port };
      const file = configFile(`busy-${variable}`, [
        `server: { rtmpPort: ${ports["server.rtmpPort"]}, httpPort: ${ports["server.httpPort"]}, dataDir: ${JSON.stringify(join(dir, `busy-${variable}-data`))} }`,
        `api: { enabled: true, port: ${ports["api.port"]}, token: ${TEST_API_TOKEN} }`,
        "channels:",
        CHANNEL,
      ]);
      const out = bin(["--config", file]);
      expect(out.status, out.stdout + out.stderr).to.equal(1);
      const lines = (out.stdout + out.stderr).trim().split("\n");
      expect(lines.at(-1)).to.equal(`${key} ${port} is in use (EADDRINUSE): change ${key} or set ${variable}`);
      expect(out.stdout + out.stderr)
        .not.to.include("bin/config.json")
        .and.not.match(STACK_FRAME);
    });
  }

  it("once started, one server.serving line gives every URL with the real ports: HLS, HTTP-FLV, WS-FLV, RTMP, the API and its console; no credential", async () => {
    const file = configFile("serving", [
      `server: { rtmpPort: 0, httpPort: 0, dataDir: ${JSON.stringify(join(dir, "serving-data"))} }`,
      `api: { enabled: true, port: 0, token: ${TEST_API_TOKEN} }`,
      "channels:",
      CHANNEL.replace("id: a,", "id: cam1, app: tv,"),
    ]);
    const { proc, output, exit } = spawnLogged(process.execPath, [BIN, "--config", file]);
    try {
      const line = await waitFor("server.serving", () =>
        output()
          .split("\n")
          .find((l) => l.includes('"event":"server.serving"')),
      );
      const started = output()
        .split("\n")
        .find((l) => l.includes('"event":"server.started"'));
      const { httpPort, rtmpPort, apiPort } = JSON.parse(started!) as { httpPort: number; rtmpPort: number; apiPort: number };
      expect(httpPort).to.be.greaterThan(0);
      const serving = JSON.parse(line) as Record<string, unknown>;
      expect(serving.channels).to.deep.equal([
        {
          channel: "tv/cam1",
          hls: `http://127.0.0.1:${httpPort}/tv/cam1/index.m3u8`,
          httpFlv: `http://127.0.0.1:${httpPort}/tv/cam1.flv`,
          wsFlv: `ws://127.0.0.1:${httpPort}/tv/cam1.flv`,
          rtmp: `rtmp://127.0.0.1:${rtmpPort}/tv/cam1`,
        },
      ]);
      expect(serving.api).to.deep.equal({ url: `http://127.0.0.1:${apiPort}/`, console: `http://127.0.0.1:${apiPort}/console/` });
      expect(line).not.to.include(TEST_API_TOKEN);
    } finally {
      proc.kill("SIGTERM");
      await exit;
    }
  });
});
