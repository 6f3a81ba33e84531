import { expect } from "chai";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, parseConfig, pluginConfigSchema, type PluginConfigInput } from "../../plugin/src/index.js";
import { UserStore } from "../../plugin/src/users/user-store.js";
import { createCapturingLogger, type CapturedLog } from "../helpers/capturing-logger.js";
import { sleep } from "../helpers/sleep.js";
import { waitUntil } from "../helpers/wait-for.js";

const waitFor = (check: () => boolean, what: string, timeoutMs = 3000): Promise<void> => waitUntil(what, check, timeoutMs, 20);

describe("users file: load, reload on change and SIGHUP, keep the old users on errors", () => {
  let dir: string;
  let file: string;
  let logs: CapturedLog;
  let store: UserStore | undefined;
  const packages = { basic: ["test"] };

  const open = (auth: PluginConfigInput["auth"] = {}) =>
    UserStore.open(parseConfig(pluginConfigSchema, { auth: { usersFile: file, packages, ...auth } }).auth, logs.logger, { debounceMs: 50 });
  const yaml = (...users: string[]) => `users:\n${users.map((u) => `  - ${u}\n`).join("")}`;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "va-users-"));
    file = join(dir, "users.yaml");
    logs = createCapturingLogger();
    writeFileSync(file, yaml("{ login: alice, tokens: [t-alice], packages: [basic] }"));
  });
  afterEach(() => {
    store?.close();
    store = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it("loads the file at start and logs users.loaded", () => {
    store = open();
    expect(store!.directory.byToken("t-alice")?.login).to.equal("alice");
    expect(logs.events("users.loaded")[0]).to.include({ file, users: 1 });
  });

  it("picks up a valid change without a restart (fs.watch, debounced)", async () => {
    store = open();
    writeFileSync(
      file,
      yaml("{ login: alice, tokens: [t-alice-2], packages: [basic] }", "{ login: bob, tokens: [t-bob], packages: ['*'] }"),
    );
    await waitFor(() => store!.directory.byToken("t-bob") !== undefined, "the reload");
    expect(store!.directory.byToken("t-alice")).to.equal(undefined);
    expect(store!.directory.byToken("t-alice-2")?.login).to.equal("alice");
    expect(logs.events("users.reloaded").at(-1)).to.include({ users: 2 });
  });

  it("sees a file replaced by rename, as editors and deploy scripts do", async () => {
    store = open();
    writeFileSync(join(dir, "users.yaml.tmp"), yaml("{ login: carol, tokens: [t-carol], packages: [basic] }"));
    renameSync(join(dir, "users.yaml.tmp"), file);
    await waitFor(() => store!.directory.byToken("t-carol") !== undefined, "the reload after rename");
  });

  it("keeps the previous users when the new file is invalid, and logs every error with its key path", async () => {
    store = open();
    writeFileSync(
      file,
      yaml(
        "{ login: alice, tokens: [t-new], packages: [premium], expires: tomorrow }",
        "{ login: alice, password: 'scrypt$1$2$3', packages: [basic] }",
      ),
    );
    await waitFor(() => logs.events("users.reload_failed").length > 0, "users.reload_failed");
    expect(store!.directory.byToken("t-alice")?.login).to.equal("alice");
    const failure = logs.events("users.reload_failed")[0]!;
    expect(failure).to.include({ level: 50, file, usersKept: 1 });
    expect(failure.issues).to.deep.equal([
      { path: "users[0].expires", message: "is not an ISO 8601 date-time with a zone (e.g. 2027-01-31T23:59:59Z)", value: "tomorrow" },
      { path: "users[1].password", message: "is not a valid scrypt hash (expected scrypt$N$r$p$salt$hash)", value: "<redacted>" },
    ]);
    writeFileSync(
      file,
      yaml("{ login: alice, tokens: [t-new], packages: [premium] }", "{ login: alice, tokens: [t-new], packages: [basic] }"),
    );
    await waitFor(() => logs.events("users.reload_failed").length > 1, "a second users.reload_failed");
    expect(logs.events("users.reload_failed")[1]!.issues).to.deep.equal([
      { path: "users[0].packages[0]", message: "is not a package in auth.packages (known: basic)", value: "premium" },
      { path: "users[1].login", message: "duplicates users[0].login", value: "alice" },
    ]);
    expect(store!.directory.byToken("t-alice")?.login).to.equal("alice");
    // Schema problems and cross-user problems of the other entries, all in one report.
    writeFileSync(
      file,
      yaml(
        "{ login: alice, tokens: [t-a], packages: [basic], expires: soon }",
        "{ login: bob, tokens: [t-b], packages: [gold] }",
        "{ login: carol, tokens: [t-b], packages: [basic] }",
      ),
    );
    await waitFor(() => logs.events("users.reload_failed").length > 2, "a third users.reload_failed");
    expect(logs.events("users.reload_failed")[2]!.issues).to.deep.equal([
      { path: "users[0].expires", message: "is not an ISO 8601 date-time with a zone (e.g. 2027-01-31T23:59:59Z)", value: "soon" },
      { path: "users[1].packages[0]", message: "is not a package in auth.packages (known: basic)", value: "gold" },
      { path: "users[2].tokens[0]", message: 'is also a token of user "bob"', value: "<redacted>" },
    ]);
    expect(store!.directory.byToken("t-alice")?.login).to.equal("alice");
    expect(logs.raw.join("\n")).to.not.include("scrypt$1$2$3");
  });

  it("reloads on SIGHUP and on reload(); close() removes the watcher and the signal listener", async () => {
    const before = process.listenerCount("SIGHUP");
    store = open();
    expect(process.listenerCount("SIGHUP")).to.equal(before + 1);
    store!.close();
    writeFileSync(file, yaml("{ login: dan, tokens: [t-dan], packages: [basic] }"));
    await sleep(200);
    expect(store!.directory.byToken("t-dan"), "no reload after close").to.equal(undefined);
    expect(process.listenerCount("SIGHUP")).to.equal(before);
    expect(store!.reload()).to.deep.equal({ ok: true, users: 1 });
    expect(store!.directory.byToken("t-dan")?.login).to.equal("dan");

    store = open();
    writeFileSync(file, yaml("{ login: erin, tokens: [t-erin], packages: [basic] }"));
    process.emit("SIGHUP", "SIGHUP");
    await waitFor(() => store!.directory.byToken("t-erin") !== undefined, "the SIGHUP reload");
  });

  it("warns loudly at every load about tokens shorter than 12 characters, naming the users, never the tokens", () => {
    writeFileSync(
      file,
      yaml(
        "{ login: alice, tokens: [t-alice, long-enough-token-1], packages: [basic] }",
        "{ login: bob, tokens: [twelve-chars], packages: [basic] }",
      ),
    );
    store = open();
    expect(store!.directory.byToken("t-alice")?.login, "a short token still works").to.equal("alice");
    const warning = logs.events("users.weak_token");
    expect(warning).to.have.length(1);
    expect(warning[0]).to.include({ level: 40, count: 1, minLength: 12 });
    expect(warning[0]!.logins).to.deep.equal(["alice"]);
    writeFileSync(
      file,
      yaml("{ login: alice, tokens: [long-enough-token-1], packages: [basic] }", "{ login: bob, tokens: [t-bob], packages: [basic] }"),
    );
    expect(store!.reload()).to.deep.equal({ ok: true, users: 2 });
    expect(logs.events("users.weak_token").at(-1)!.logins).to.deep.equal(["bob"]);
    for (const token of ["t-alice", "t-bob", "long-enough-token-1"]) expect(logs.raw.join("\n")).to.not.include(token);
    const inConfig = UserStore.open(
      parseConfig(pluginConfigSchema, { auth: { users: [{ login: "demo", tokens: ["demo"], packages: ["*"] }] } }).auth,
      logs.logger,
    )!;
    expect(logs.events("users.weak_token").at(-1)!.logins, "auth.users too").to.deep.equal(["demo"]);
    inConfig.close();
  });

  it("refuses to start on an invalid users file, or with both auth.users and auth.usersFile", () => {
    writeFileSync(file, yaml("{ login: 'bad:login', tokens: [x], packages: [basic] }"));
    expect(() => open()).to.throw(ConfigError, "users[0].login: \"bad:login\" must be 1-64 letters, digits or ._@- (no ':')");
    expect(() => open({ users: [{ login: "x", tokens: ["y"], packages: ["*"] }] })).to.throw(
      ConfigError,
      "auth.usersFile: cannot be used together with auth.users",
    );
  });
});
