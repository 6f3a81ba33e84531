import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../../plugin/src/core/errors.js";
import { CONFIG_FILE_VARIABLE, ENV_SETTINGS, envOverrides, loadServerConfig } from "../../server/src/env-overrides.js";
import { thrown } from "../helpers/thrown.js";

describe("env-overrides: VA_* variables over the configuration file", () => {
  it("reads exactly these variables, each for one key", () => {
    expect(ENV_SETTINGS.map((s) => `${s.variable}=${s.key.join(".")}:${s.kind}`)).to.deep.equal([
      "VA_BIND=server.bind:text",
      "VA_RTMP_PORT=server.rtmpPort:integer",
      "VA_HTTP_PORT=server.httpPort:integer",
      "VA_DATA_DIR=server.dataDir:text",
      "VA_API_ENABLED=api.enabled:boolean",
      "VA_API_BIND=api.bind:text",
      "VA_API_PORT=api.port:integer",
      "VA_API_TOKEN=api.token:text",
      "VA_API_METRICS_TOKEN=api.metricsToken:text",
      "VA_REDIS_URL=cluster.redis:text",
      "VA_NODE_ID=cluster.nodeId:text",
      "VA_LOG_LEVEL=log.level:text",
      "VA_LOG_FORMAT=log.format:text",
    ]);
    expect(CONFIG_FILE_VARIABLE).to.equal("VA_CONFIG");
  });

  describe("envOverrides converts each kind", () => {
    const cases: [string, string, unknown][] = [
      ["VA_BIND", "0.0.0.0", "0.0.0.0"],
      ["VA_BIND", " spaced ", " spaced "],
      ["VA_RTMP_PORT", "1936", 1936],
      ["VA_RTMP_PORT", " 1936 ", 1936],
      ["VA_HTTP_PORT", "0", 0],
      ["VA_API_ENABLED", "true", true],
      ["VA_API_ENABLED", "TRUE", true],
      ["VA_API_ENABLED", "1", true],
      ["VA_API_ENABLED", "false", false],
      ["VA_API_ENABLED", " 0 ", false],
    ];
    for (const [variable, text, value] of cases) {
      it(`${variable}=${JSON.stringify(text)} gives ${JSON.stringify(value)}`, () => {
        const setting = ENV_SETTINGS.find((s) => s.variable === variable)!;
        expect(envOverrides({ [variable]: text })).to.deep.equal({
          overrides: [{ source: variable, key: setting.key, value }],
          issues: [],
        });
      });
    }
  });

  describe("envOverrides refuses a value not of its kind, naming the variable", () => {
    const cases: [string, string, string, string][] = [
      ["VA_RTMP_PORT", "19 35", "server.rtmpPort", "must be a whole number (from VA_RTMP_PORT)"],
      ["VA_API_PORT", "-1", "api.port", "must be a whole number (from VA_API_PORT)"],
      ["VA_HTTP_PORT", "8e3", "server.httpPort", "must be a whole number (from VA_HTTP_PORT)"],
      ["VA_HTTP_PORT", "1234567890", "server.httpPort", "must be a whole number (from VA_HTTP_PORT)"],
      ["VA_API_ENABLED", "yes", "api.enabled", "must be true or false (from VA_API_ENABLED)"],
    ];
    for (const [variable, text, path, message] of cases) {
      it(`${variable}=${JSON.stringify(text)}`, () => {
        expect(envOverrides({ [variable]: text })).to.deep.equal({ overrides: [], issues: [{ path, message, value: text }] });
      });
    }
  });

  it("an empty variable is not set; unknown variables are ignored; the table's order is kept", () => {
    const { overrides, issues } = envOverrides({ VA_LOG_LEVEL: "debug", VA_BIND: "", VA_UNKNOWN: "x", VA_RTMP_PORT: "1", PATH: "/bin" });
    expect(overrides.map((o) => o.source)).to.deep.equal(["VA_RTMP_PORT", "VA_LOG_LEVEL"]);
    expect(issues).to.deep.equal([]);
  });

  describe("loadServerConfig", () => {
    let dir: string;
    let file: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "va-env-"));
      file = join(dir, "server.yaml");
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("an override wins over the file, and the last override over an earlier one", () => {
      writeFileSync(file, "server:\n  rtmpPort: 1935\n  bind: 127.0.0.1\nlog:\n  level: warn\n");
      const config = loadServerConfig(file, [
        { source: "VA_RTMP_PORT", key: ["server", "rtmpPort"], value: 2935 },
        { source: "VA_LOG_FORMAT", key: ["log", "format"], value: "pretty" },
        { source: "--log-format", key: ["log", "format"], value: "json" },
      ]);
      expect(config.server).to.include({ rtmpPort: 2935, bind: "127.0.0.1" });
      expect(config.log).to.include({ level: "warn", format: "json" });
    });

    it("an override creates a section the file does not have", () => {
      writeFileSync(file, "{}\n");
      expect(loadServerConfig(file, [{ source: "VA_LOG_LEVEL", key: ["log", "level"], value: "debug" }]).log.level).to.equal("debug");
    });

    it("an empty file is the defaults", () => {
      writeFileSync(file, "");
      expect(loadServerConfig(file, []).server).to.include({ rtmpPort: 1935, httpPort: 8000, bind: "127.0.0.1" });
    });

    it("an invalid override value is reported at its key, naming the variable; the file's own issues are not", () => {
      writeFileSync(file, "server:\n  httpPort: 99999\n");
      const error = thrown(
        () => loadServerConfig(file, [{ source: "VA_RTMP_PORT", key: ["server", "rtmpPort"], value: 70000 }]),
        ConfigError,
      );
      expect(error.issues.map((i) => [i.path, i.message])).to.deep.equal([
        ["server.rtmpPort", "must be 0..65535 (from VA_RTMP_PORT)"],
        ["server.httpPort", "must be 0..65535"],
      ]);
      expect(error.message).to.include(`${file} has 2 error(s)`);
    });

    it("reports the environment's conversion issues together with the schema's", () => {
      writeFileSync(file, "server:\n  httpPort: -1\n");
      const { overrides, issues } = envOverrides({ VA_API_ENABLED: "maybe" });
      const error = thrown(() => loadServerConfig(file, overrides, issues), ConfigError);
      expect(error.issues.map((i) => i.path)).to.deep.equal(["api.enabled", "server.httpPort"]);
    });
  });
});
