import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, pluginConfigSchema } from "../../plugin/src/index.js";
import { UserEditor } from "../../plugin/src/users/user-editor.js";
import { UserStore } from "../../plugin/src/users/user-store.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";

describe("users API without a users file", () => {
  it("users written in the main configuration are listed but read-only", async () => {
    const config = parseConfig(pluginConfigSchema, { auth: { users: [{ login: "erin", tokens: ["erin-token-0001"], packages: ["*"] }] } });
    const logs = createCapturingLogger();
    const store = UserStore.open(config.auth, logs.logger)!;
    const editor = new UserEditor(store, logs.logger);
    expect(editor.editable).to.equal(false);
    expect(editor.list().map((u) => u.login)).to.deep.equal(["erin"]);
    const result = await editor.create({ login: "frank", tokens: ["frank-token-001"], packages: ["*"] });
    expect(result).to.include({ ok: false, problem: "read-only" });
    expect(editor.remove("erin")).to.include({ ok: false, problem: "read-only" });
    store.close();
  });
});

describe("users API: tokens shorter than 12 characters", () => {
  let dir: string;
  let store: UserStore;
  let editor: UserEditor;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "va-users-weak-"));
    const file = join(dir, "users.yaml");
    // The file may hold a short token (loaded with a warning), like the quick start's demo.
    writeFileSync(file, "users:\n  - { login: demo, tokens: [demo], packages: ['*'] }\n");
    const logs = createCapturingLogger();
    store = UserStore.open(parseConfig(pluginConfigSchema, { auth: { usersFile: file } }).auth, logs.logger, { reloadOnSighup: false })!;
    editor = new UserEditor(store, logs.logger);
  });
  after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a new short token with every offending index, and never echoes the token", async () => {
    const result = await editor.create({ login: "ann", tokens: ["long-enough-token-1", "short-tok", "x"], packages: ["*"] });
    expect(result).to.deep.equal({
      ok: false,
      problem: "invalid",
      error: "the user has 2 error(s)",
      issues: [
        {
          path: "tokens[1]",
          message: "is shorter than 12 characters: short enough to be found by trying; use a long random token (e.g. openssl rand -hex 16)",
          value: "<redacted>",
        },
        {
          path: "tokens[2]",
          message: "is shorter than 12 characters: short enough to be found by trying; use a long random token (e.g. openssl rand -hex 16)",
          value: "<redacted>",
        },
      ],
    });
    expect(JSON.stringify(result)).to.not.include("short-tok");
    expect(store.directory.byLogin("ann")).to.equal(undefined);
    expect(await editor.patch("demo", { tokens: ["demo", "abc"] })).to.include({ ok: false, problem: "invalid" });
  });

  it("keeps a short token the user already has: other keys can still be edited, and 12 characters is enough", async () => {
    expect(await editor.patch("demo", { maxConnections: 2 })).to.include({ ok: true });
    expect(await editor.patch("demo", { tokens: ["demo", "twelve-chars"] })).to.include({ ok: true });
    expect(store.directory.byToken("demo")?.login).to.equal("demo");
    expect(store.directory.byToken("twelve-chars")?.login).to.equal("demo");
  });
});
