import { expect } from "chai";
import type { IncomingMessage } from "node:http";
import { httpRequestFields } from "../../plugin/src/gate/http-request-fields.js";
import { parseIpRange, type IpRange } from "../../plugin/src/net/ip-range.js";
import { IpRuleList } from "../../plugin/src/net/ip-rule-list.js";

const PROXIES = new IpRuleList([parseIpRange("10.0.0.0/8") as IpRange]);
const NONE = new IpRuleList([]);

/** The parts of an IncomingMessage httpRequestFields reads: the socket's address and TLS flag, and the headers. */
function requestFrom(
  remoteAddress: string | undefined,
  headers: Record<string, string | string[]> = {},
  encrypted = false,
): IncomingMessage {
  return { socket: { remoteAddress, encrypted }, headers } as unknown as IncomingMessage;
}

describe("httpRequestFields: the AuthRequest fields of an HTTP request", () => {
  it("reads address, decoded path, raw query, params, user agent, host and origin", () => {
    const fields = httpRequestFields(
      requestFrom("203.0.113.7", { "user-agent": "VLC/3.0", host: "media.example:8000" }),
      "/live/te%73t.flv?token=a%20b&x=1",
      NONE,
    );
    expect(fields).to.deep.include({
      ip: "203.0.113.7",
      path: "/live/test.flv",
      query: "token=a%20b&x=1",
      userAgent: "VLC/3.0",
      host: "media.example:8000",
      origin: "http://media.example:8000",
    });
    expect(fields.address?.text).to.equal("203.0.113.7");
    expect(fields.params.get("token")).to.equal("a b");
  });

  const paths: [string, string, string][] = [
    ["/live/test/index.m3u8", "/live/test/index.m3u8", ""],
    ["/live/test.flv?", "/live/test.flv", ""],
    ["/live/%zz.flv", "/live/%zz.flv", ""],
    ["/live/a%2Fb.flv?x=%2F", "/live/a/b.flv", "x=%2F"],
    ["/live/test.flv?a=1?b=2", "/live/test.flv", "a=1?b=2"],
  ];
  for (const [rawUrl, path, query] of paths) {
    it(`${rawUrl}: path ${path}, query ${JSON.stringify(query)}`, () => {
      expect(httpRequestFields(requestFrom("127.0.0.1"), rawUrl, NONE)).to.deep.include({ path, query });
    });
  }

  const schemes: [boolean, boolean, string][] = [
    [false, false, "http://h"],
    [true, false, "https://h"],
    [false, true, "ws://h"],
    [true, true, "wss://h"],
  ];
  for (const [encrypted, webSocket, origin] of schemes) {
    it(`origin over ${origin.split(":")[0]}`, () => {
      expect(httpRequestFields(requestFrom("127.0.0.1", { host: "h" }, encrypted), "/", NONE, webSocket).origin).to.equal(origin);
    });
  }

  it("no Host header: empty host and origin, empty user agent", () => {
    expect(httpRequestFields(requestFrom("127.0.0.1"), "/", NONE)).to.deep.include({ host: "", origin: "", userAgent: "" });
  });

  it("X-Forwarded-For counts only from a trusted proxy", () => {
    const headers = { "x-forwarded-for": "198.51.100.1" };
    expect(httpRequestFields(requestFrom("10.0.0.1", headers), "/", PROXIES).ip).to.equal("198.51.100.1");
    expect(httpRequestFields(requestFrom("203.0.113.7", headers), "/", PROXIES).ip).to.equal("203.0.113.7");
    expect(httpRequestFields(requestFrom("10.0.0.1", headers), "/", NONE).ip).to.equal("10.0.0.1");
  });

  it("an IPv4-mapped socket address is the IPv4 address", () => {
    const fields = httpRequestFields(requestFrom("::ffff:127.0.0.1"), "/", NONE);
    expect(fields.ip).to.equal("127.0.0.1");
    expect(fields.address?.family).to.equal(4);
  });

  it("a socket without an address (closed already): empty ip, no address", () => {
    const fields = httpRequestFields(requestFrom(undefined), "/", NONE);
    expect(fields.ip).to.equal("");
    expect(fields.address).to.equal(null);
  });

  it("a garbage hop from a proxy: no address, the socket's text as ip", () => {
    const fields = httpRequestFields(requestFrom("10.0.0.1", { "x-forwarded-for": "garbage" }), "/", PROXIES);
    expect(fields.address).to.equal(null);
    expect(fields.ip).to.equal("10.0.0.1");
  });
});
