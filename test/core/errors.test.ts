import { expect } from "chai";
import { readFileSync } from "node:fs";
import {
  AlreadyAttachedError,
  BackendRequestError,
  BackendResponseError,
  BackendTimeoutError,
  BackendUnreachableError,
  ConfigError,
  NmsIncompatibleError,
  SignedLinkError,
  VaError,
} from "../../plugin/src/core/errors.js";

/** Asserts the common shape: the class name, the stable code, the base class, the exact message. */
function expectError(error: VaError, name: string, code: string, message: string): void {
  expect(error).to.be.instanceOf(VaError);
  expect(error).to.be.instanceOf(Error);
  expect(error.name).to.equal(name);
  expect(error.code).to.equal(code);
  expect(error.message).to.equal(message);
}

describe("errors", () => {
  it("VaError carries its code, takes the subclass's name and keeps the cause", () => {
    const cause = new Error("underlying");
    const error = new VaError("VA_ERR_TEST_ONLY", "something failed", { cause });
    expectError(error, "VaError", "VA_ERR_TEST_ONLY", "something failed");
    expect(error.cause).to.equal(cause);
  });

  it("ConfigError lists every issue, one per line, with key path and value", () => {
    const issues = [
      { path: "auth.denyIps[1]", message: "is not an IP address or CIDR", value: "10.0.0.300/8" },
      { path: "auth.alowIps", message: 'is not a known key (did you mean "allowIps"?)' },
      { path: "", message: "YAML: bad indentation" },
    ];
    const error = new ConfigError(issues, "samples/bad.yaml");
    expectError(
      error,
      "ConfigError",
      "VA_ERR_CONFIG_INVALID",
      [
        "samples/bad.yaml has 3 error(s):",
        '  auth.denyIps[1]: "10.0.0.300/8" is not an IP address or CIDR',
        '  auth.alowIps: is not a known key (did you mean "allowIps"?)',
        "  (root): YAML: bad indentation",
      ].join("\n"),
    );
    expect(error.issues).to.deep.equal(issues);
  });

  it("ConfigError names the source 'configuration' by default", () => {
    const error = new ConfigError([{ path: "log.level", message: 'must be one of "trace"|"debug"', value: "loud" }]);
    expectError(
      error,
      "ConfigError",
      "VA_ERR_CONFIG_INVALID",
      'configuration has 1 error(s):\n  log.level: "loud" must be one of "trace"|"debug"',
    );
  });

  it("NmsIncompatibleError names what changed and the version needed", () => {
    expectError(
      new NmsIncompatibleError("Context.broadcasts is not a Map"),
      "NmsIncompatibleError",
      "VA_ERR_NMS_INCOMPATIBLE",
      "node-media-server internals changed: Context.broadcasts is not a Map; this plugin supports node-media-server 2.7.4 and 4.4.3",
    );
  });

  it("AlreadyAttachedError says to detach first", () => {
    expectError(
      new AlreadyAttachedError(),
      "AlreadyAttachedError",
      "VA_ERR_ALREADY_ATTACHED",
      "viewer authorization is already attached to node-media-server; detach it first",
    );
  });

  it("SignedLinkError keeps the message it is given", () => {
    expectError(new SignedLinkError("secret must not be empty"), "SignedLinkError", "VA_ERR_SIGNED_LINK_INPUT", "secret must not be empty");
  });

  it("BackendUnreachableError names the target, the failure and the detail, and keeps the cause", () => {
    const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    const error = new BackendUnreachableError("http://127.0.0.1:1/auth", "refused", "ECONNREFUSED", { cause });
    expectError(
      error,
      "BackendUnreachableError",
      "VA_ERR_BACKEND_UNREACHABLE",
      "auth backend http://127.0.0.1:1/auth unreachable (refused): ECONNREFUSED",
    );
    expect(error).to.include({ target: "http://127.0.0.1:1/auth", failure: "refused" });
    expect(error.cause).to.equal(cause);
  });

  it("BackendTimeoutError is an unreachable backend with its own code and the config key in the message", () => {
    const total = new BackendTimeoutError("http://127.0.0.1:1/auth", "total", 3000);
    expectError(
      total,
      "BackendTimeoutError",
      "VA_ERR_BACKEND_TIMEOUT",
      "auth backend http://127.0.0.1:1/auth unreachable (timeout): no answer within 3000ms (auth.backend.timeoutMs)",
    );
    expect(total).to.be.instanceOf(BackendUnreachableError);
    expect(total).to.include({ target: "http://127.0.0.1:1/auth", failure: "timeout", timeoutMs: 3000 });

    const connect = new BackendTimeoutError("http://127.0.0.1:1/auth", "connect", 1000);
    expectError(
      connect,
      "BackendTimeoutError",
      "VA_ERR_BACKEND_TIMEOUT",
      "auth backend http://127.0.0.1:1/auth unreachable (timeout): no connection within 1000ms (auth.backend.connectTimeoutMs)",
    );
  });

  it("BackendResponseError names the target and the problem", () => {
    const error = new BackendResponseError("http://127.0.0.1:1/auth", "body larger than 65536 bytes");
    expectError(
      error,
      "BackendResponseError",
      "VA_ERR_BACKEND_RESPONSE",
      "auth backend http://127.0.0.1:1/auth sent an unusable answer: body larger than 65536 bytes",
    );
    expect(error).to.include({ target: "http://127.0.0.1:1/auth" });
    expect(error).to.not.be.instanceOf(BackendUnreachableError);
  });

  it("BackendRequestError names the target and the problem, and is neither unreachable nor a response error", () => {
    const cause = Object.assign(new TypeError("invalid x-real-ua header"), { code: "UND_ERR_INVALID_ARG" });
    const error = new BackendRequestError("http://127.0.0.1:1/auth", "header X-Real-Ua has a control character (0x0d) at position 3", {
      cause,
    });
    expectError(
      error,
      "BackendRequestError",
      "VA_ERR_BACKEND_REQUEST_INVALID",
      "auth backend http://127.0.0.1:1/auth: request not sent: header X-Real-Ua has a control character (0x0d) at position 3",
    );
    expect(error).to.include({
      target: "http://127.0.0.1:1/auth",
      problem: "header X-Real-Ua has a control character (0x0d) at position 3",
    });
    expect(error.cause).to.equal(cause);
    expect(error).to.not.be.instanceOf(BackendUnreachableError);
    expect(error).to.not.be.instanceOf(BackendResponseError);
  });

  describe("docs/errors.md", () => {
    const source = readFileSync("plugin/src/core/errors.ts", "utf8");
    const docs = readFileSync("docs/errors.md", "utf8");

    it("is a Code | Thrown when | How to fix table", () => {
      expect(docs).to.include("| Code | Thrown when | How to fix |");
    });

    it("documents every code in plugin/src/core/errors.ts", () => {
      const codes = [...new Set([...source.matchAll(/"(VA_ERR_[A-Z0-9_]+)"/g)].map((m) => m[1]!))];
      expect(codes.length, "codes found in errors.ts").to.be.at.least(7);
      const missing = codes.filter((code) => !docs.includes(`\`${code}\``));
      expect(missing, "codes missing from docs/errors.md").to.deep.equal([]);
    });

    it("names every error class in plugin/src/core/errors.ts", () => {
      const classes = [...source.matchAll(/export class (\w+)/g)].map((m) => m[1]!);
      const missing = classes.filter((name) => !docs.includes(`\`${name}\``));
      expect(missing, "classes missing from docs/errors.md").to.deep.equal([]);
    });
  });
});
