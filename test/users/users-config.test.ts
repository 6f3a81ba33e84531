import { expect } from "chai";
import { ConfigError, parseConfig, pluginConfigSchema } from "../../plugin/src/index.js";
import { UserStore } from "../../plugin/src/users/user-store.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";
import { thrown } from "../helpers/thrown.js";

function failure(run: () => unknown): ConfigError {
  return thrown(run, ConfigError);
}

describe("configuration of users, packages, securetoken and bruteForce", () => {
  it("reports every mistake in users with its key path, never echoing passwords, tokens or secrets", () => {
    const error = failure(() =>
      parseConfig(pluginConfigSchema, {
        auth: {
          packages: { basic: ["test", "bad channel"] },
          users: [
            {
              login: "a:b",
              password: "scrypt$bad-hunter2",
              tokens: [""],
              packages: ["basic"],
              expires: "2027-01-01T00:00:00",
              maxConnections: 0,
            },
            { login: "ok", packages: ["basic"], passwd: "hunter2" },
          ],
          securetoken: { format: "wowza", secrets: [""], clockSkewSec: -1 },
          bruteForce: { maxFailures: 0 },
        },
      }),
    );
    expect(error.issues).to.deep.equal([
      { path: "auth.packages.basic[1]", message: "is not a channel name ([A-Za-z0-9_-]+) or *", value: "bad channel" },
      { path: "auth.users[0].login", message: "must be 1-64 letters, digits or ._@- (no ':')", value: "a:b" },
      { path: "auth.users[0].password", message: "is not a valid scrypt hash (expected scrypt$N$r$p$salt$hash)", value: "<redacted>" },
      { path: "auth.users[0].tokens[0]", message: "must not be empty", value: "<redacted>" },
      {
        path: "auth.users[0].expires",
        message: "is not an ISO 8601 date-time with a zone (e.g. 2027-01-31T23:59:59Z)",
        value: "2027-01-01T00:00:00",
      },
      { path: "auth.users[0].maxConnections", message: "must be at least 1", value: 0 },
      { path: "auth.users[1].passwd", message: 'is not a known key (did you mean "password"?)' },
      { path: "auth.securetoken.format", message: 'must be one of "astra"|"flussonic"|"nms"', value: "<redacted>" },
      { path: "auth.securetoken.secrets[0]", message: "must not be empty", value: "<redacted>" },
      { path: "auth.securetoken.clockSkewSec", message: "must be at least 0 s", value: "<redacted>" },
      { path: "auth.bruteForce.maxFailures", message: "must be at least 1", value: 0 },
    ]);
    expect(error.message).to.not.include("hunter2");
  });

  it("refuses a user written as a string without echoing it (it is likely a credential)", () => {
    const error = failure(() => parseConfig(pluginConfigSchema, { auth: { users: ["demo:hunter2"] } }));
    expect(error.issues).to.deep.equal([
      { path: "auth.users[0]", message: "must be a mapping of user keys (login, password, tokens, packages, …)", value: "<redacted>" },
    ]);
    expect(error.message).to.not.include("hunter2");
  });

  it("requires packages for every user (an empty list plays nothing; '*' plays everything)", () => {
    const error = failure(() => parseConfig(pluginConfigSchema, { auth: { users: [{ login: "x", tokens: ["t"] }] } }));
    expect(error.issues).to.deep.equal([{ path: "auth.users[0].packages", message: "is required", value: undefined }]);
  });

  it("checks cross-field rules of inline users at start: unique logins and tokens, known packages, some credential", () => {
    const config = parseConfig(pluginConfigSchema, {
      auth: {
        packages: { basic: ["test"] },
        users: [
          { login: "a", tokens: ["same"], packages: ["basic"] },
          { login: "b", tokens: ["same"], packages: ["gold"] },
          { login: "a", tokens: ["other"], packages: ["*"] },
          { login: "c", packages: ["*"] },
        ],
      },
    });
    const error = failure(() => UserStore.open(config.auth, createCapturingLogger().logger));
    expect(error.issues).to.deep.equal([
      { path: "auth.users[1].packages[0]", message: "is not a package in auth.packages (known: basic)", value: "gold" },
      { path: "auth.users[1].tokens[0]", message: 'is also a token of user "a"', value: "<redacted>" },
      { path: "auth.users[2].login", message: "duplicates auth.users[0].login", value: "a" },
      { path: "auth.users[3]", message: 'user "c" needs a password or at least one token' },
    ]);
    expect(error.message).to.not.include("same");
  });

  it("warns once at start about plaintext passwords, naming the users but never the passwords", () => {
    const logs = createCapturingLogger();
    const config = parseConfig(pluginConfigSchema, { auth: { users: [{ login: "demo", password: "demo-pass", packages: ["*"] }] } });
    UserStore.open(config.auth, logs.logger)!.close();
    expect(logs.events("users.plaintext_password")).to.have.length(1);
    expect(logs.events("users.plaintext_password")[0]).to.include({ level: 40, count: 1 });
    expect(logs.events("users.plaintext_password")[0]!.logins).to.deep.equal(["demo"]);
    expect(logs.raw.join("\n")).to.not.include("demo-pass");
  });

  it("leaves the users step out when no users are configured", () => {
    expect(UserStore.open(parseConfig(pluginConfigSchema, {}).auth, createCapturingLogger().logger)).to.equal(undefined);
  });
});
