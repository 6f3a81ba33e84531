import { expect } from "chai";
import { createHttpRequestProtocol } from "../../plugin/src/backend/http-request-protocol.js";
import type { BackendResponse } from "../../plugin/src/backend/backend-transport.js";
import { backendSchema, type HttpRequestBackendConfig } from "../../plugin/src/backend/backend-schema.js";
import { BackendRequestError } from "../../plugin/src/core/errors.js";
import { authRequest } from "../helpers/auth-requests.js";
import { thrown } from "../helpers/thrown.js";

const protocolFor = (url: string) =>
  createHttpRequestProtocol(backendSchema.parse({ type: "http-request", url }) as HttpRequestBackendConfig);
const NO_COUNTS = () => {
  throw new Error("the http-request protocol sends no client counts");
};

describe("http-request protocol: the call for an AuthRequest and what its answer means", () => {
  const request = {
    ...authRequest({ query: "token=abc&x=%20y", ip: "203.0.113.7", app: "live", channel: "cam1", path: "/live/cam1.flv" }),
    userAgent: "VLC/3.0",
    host: "media.example:8000",
    origin: "http://media.example:8000",
    sessionId: "sess-1",
  };

  it("sends the viewer's query verbatim and the seven X- headers, nothing else, and reads no body", () => {
    expect(protocolFor("http://auth.example/check").build(request, NO_COUNTS)).to.deep.equal({
      url: "http://auth.example/check?token=abc&x=%20y",
      headers: {
        "X-Session-Id": "sess-1",
        "X-Channel-Id": "cam1",
        "X-Real-Ip": "203.0.113.7",
        "X-Real-Path": "/live/cam1.flv",
        "X-Real-Ua": "VLC/3.0",
        "X-Real-Host": "media.example:8000",
        "X-Real-Origin": "http://media.example:8000",
      },
      readBody: false,
    });
  });

  const urls: [string, string, string][] = [
    ["a check URL without a query", "http://auth.example/check", "http://auth.example/check?token=abc&x=%20y"],
    ["a check URL with a query: joined with &", "http://auth.example/check?site=1", "http://auth.example/check?site=1&token=abc&x=%20y"],
    ["a check URL ending in ?", "http://auth.example/check?", "http://auth.example/check?token=abc&x=%20y"],
    ["a check URL ending in &", "http://auth.example/check?site=1&", "http://auth.example/check?site=1&token=abc&x=%20y"],
  ];
  for (const [name, url, expected] of urls) {
    it(name, () => {
      expect(protocolFor(url).build(request, NO_COUNTS).url).to.equal(expected);
    });
  }

  it("an empty query leaves the check URL as it is", () => {
    expect(protocolFor("http://auth.example/check?site=1").build({ ...request, query: "" }, NO_COUNTS).url).to.equal(
      "http://auth.example/check?site=1",
    );
  });

  const refused: [string, string, string][] = [
    ["a raw #", "a=1#b", "0x23) at position 3"],
    ["a space", "a=1 2", "0x20) at position 3"],
    ["a line break", "a=\n", "0x0a) at position 2"],
    ["a NUL", "\u0000", "0x00) at position 0"],
    ["a byte above 0x7e", "a=é", "0xe9) at position 2"],
    ["DEL", "a=\u007f", "0x7f) at position 2"],
  ];
  for (const [name, query, tail] of refused) {
    it(`refuses a query with ${name}, naming the character and its position, not the URL's credentials`, () => {
      const error = thrown(
        () => protocolFor("http://user:pw@auth.example/check?k=s").build({ ...request, query }, NO_COUNTS),
        BackendRequestError,
      );
      expect(error.code).to.equal("VA_ERR_BACKEND_REQUEST_INVALID");
      expect(error.message).to.equal(
        `auth backend http://auth.example/check: request not sent: the viewer's query has a character a URL cannot carry verbatim (${tail}`,
      );
    });
  }

  it("keys a verdict on every fact sent except the per-viewer session id", () => {
    const protocol = protocolFor("http://auth.example/check");
    const key = protocol.keyOf(request);
    expect(protocol.keyOf({ ...request, sessionId: "other", requestNumber: 7 })).to.equal(key);
    for (const change of [
      { query: "token=x" },
      { channel: "cam2" },
      { ip: "203.0.113.8" },
      { path: "/live/cam2.flv" },
      { userAgent: "x" },
      { host: "h" },
      { origin: "o" },
    ]) {
      expect(protocol.keyOf({ ...request, ...change }), JSON.stringify(change)).to.not.equal(key);
    }
  });

  it("names its type, check URL and re-check rule", () => {
    expect(protocolFor("http://auth.example/check?site=1")).to.include({
      type: "http-request",
      checkUrl: "http://auth.example/check?site=1",
      keepsGrantOnRecheck: false,
    });
  });

  const answers: [string, BackendResponse, object][] = [
    [
      "200 with X-Session-Name allows under that name",
      { status: 200, headers: { "x-session-name": "Ann" }, body: Buffer.alloc(0) },
      { kind: "allow", user: { name: "Ann" } },
    ],
    [
      "403 with X-Location denies with the redirect",
      { status: 403, headers: { "x-location": "https://shop.example" }, body: Buffer.alloc(0) },
      { kind: "deny", redirectUrl: "https://shop.example" },
    ],
    [
      "302 with Location denies without a redirect (only X-Location redirects)",
      { status: 302, headers: { location: "https://x" }, body: Buffer.alloc(0) },
      { kind: "deny", redirectUrl: undefined },
    ],
    ["502 is an error", { status: 502, headers: {}, body: Buffer.alloc(0) }, { kind: "error", reason: "backend answered 502" }],
  ];
  for (const [name, response, expected] of answers) {
    it(name, () => {
      expect(protocolFor("http://auth.example/check").interpret(response)).to.deep.include(expected);
    });
  }
});
