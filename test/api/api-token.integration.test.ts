import { expect } from "chai";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { spawn } from "node:child_process";
import { tokenWeakness } from "../../plugin/src/api/api-token.js";
import { ConfigError, parseConfig, pluginConfigSchema, type PluginConfig } from "../../plugin/src/index.js";
import { buildViewerAuth } from "../../plugin/src/viewer-auth.js";
import { auditSecrets, recordExternalLog } from "../helpers/log-audit.js";
import { waitFor } from "../helpers/wait-for.js";
import { apiFetch } from "../helpers/openapi-check.js";

describe("API credentials that cannot be guessed", function () {
  this.timeout(60_000);

  describe("api.tokenFile with the API listening (start writes the file)", () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "va-token-file-"));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("a reload with the same file changes nothing (the token read again is the same)", async () => {
      const file = join(dir, "api-token");
      // The file is written at start (building only reads): the API on an OS-picked port.
      const auth = buildViewerAuth(parseConfig(pluginConfigSchema, { api: { enabled: true, port: 0, tokenFile: file } }) as PluginConfig);
      try {
        await auth.start();
        auditSecrets(auth.config.api.token!);
        expect(auth.config.api.token).to.equal(readFileSync(file, "utf8").trim());
        expect(auth.reload({ api: { enabled: true, port: 0, tokenFile: file } })).to.deep.include({ restartNeeded: [] });
      } finally {
        await auth.detach();
      }
    });

    it("building reads or makes the token and writes nothing; start writes it; a file written by another server in between refuses the start", async () => {
      const file = join(dir, "data", "api-token");
      const built = (port = 0) =>
        buildViewerAuth(parseConfig(pluginConfigSchema, { api: { enabled: true, port, tokenFile: file } }) as PluginConfig);
      const first = built();
      const second = built();
      try {
        expect(existsSync(file), "nothing written at build").to.equal(false);
        expect(first.config.api.token).to.not.equal(second.config.api.token);
        await first.start();
        expect(readFileSync(file, "utf8")).to.equal(`${first.config.api.token}\n`);
        // start throws at once what it cannot write (not in its promise).
        let error: unknown;
        try {
          await second.start();
        } catch (e) {
          error = e;
        }
        expect(error).to.be.instanceOf(ConfigError);
        expect((error as ConfigError).issues[0]).to.deep.include({ path: "api.tokenFile" });
        expect((error as Error).message)
          .to.not.include(first.config.api.token!)
          .and.to.not.include(second.config.api.token!);
        expect(built().config.api.token, "the next build reads the written token").to.equal(first.config.api.token);
      } finally {
        await first.detach();
        await second.detach();
      }
    });
  });

  describe("the quick start (samples/quickstart.yaml) on a fresh machine", () => {
    it("starts, writes its generated token 0600 under ./data, and the real API takes that token (and no other)", async () => {
      const home = mkdtempSync(join(tmpdir(), "va-quickstart-"));
      mkdirSync(join(home, "samples"));
      for (const file of ["quickstart.yaml", "quickstart-users.yaml"]) copyFileSync(join("samples", file), join(home, "samples", file));
      const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
      // The quick start's own command (npm start) with the ports the OS picks, so that tests can run side by side.
      const proc = spawn(process.execPath, ["--import", tsx, resolve("server/src/main.ts"), "--config", "samples/quickstart.yaml"], {
        cwd: home,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, VA_RTMP_PORT: "0", VA_HTTP_PORT: "0", VA_API_PORT: "0" },
      });
      let output = "";
      const keep = (d: Buffer) => {
        output += d.toString();
        recordExternalLog(d.toString());
      };
      proc.stdout.on("data", keep);
      proc.stderr.on("data", keep);
      const exited = new Promise((r) => proc.once("exit", r));
      try {
        const apiPort = await waitFor(
          `server.started (${output.slice(-500)})`,
          () => {
            const line = output.split("\n").find((l) => l.includes('"server.started"'));
            return line === undefined ? undefined : (JSON.parse(line) as { apiPort: number }).apiPort;
          },
          45_000,
        );
        const file = join(home, "data", "api-token");
        expect(statSync(file).mode & 0o777).to.equal(0o600);
        const token = readFileSync(file, "utf8").trim();
        auditSecrets(token);
        expect(tokenWeakness(token)).to.equal(undefined);
        const get = (credential: string) =>
          apiFetch(`http://127.0.0.1:${apiPort}/api/sessions`, { headers: { Authorization: `Bearer ${credential}` } });
        expect((await get(token)).status).to.equal(200);
        expect((await get("quickstart-admin")).status).to.equal(401);
        expect(output).to.not.include(token);
      } finally {
        proc.kill("SIGTERM");
        await exited;
        rmSync(home, { recursive: true, force: true });
      }
    });
  });
});
