import { expect } from "chai";
import { createFlussonicProtocol } from "../../plugin/src/backend/flussonic-protocol.js";
import type { BackendResponse } from "../../plugin/src/backend/backend-transport.js";
import { backendSchema, type FlussonicBackendConfig } from "../../plugin/src/backend/backend-schema.js";
import type { AuthRequest, Protocol } from "../../plugin/src/core/auth-request.js";
import { authRequest } from "../helpers/auth-requests.js";

type FlussonicType = FlussonicBackendConfig["type"];
const protocolFor = (type: FlussonicType, fields: Record<string, unknown> = {}) =>
  createFlussonicProtocol(backendSchema.parse({ type, address: "http://portal.example/base/", ...fields }) as FlussonicBackendConfig);
const COUNTS = () => ({ stream: 3, total: 10 });
const request = (fields: Partial<AuthRequest> & { query?: string } = {}): AuthRequest => {
  const base = authRequest({ query: fields.query ?? "token=T0K&x=1", ip: "203.0.113.7", channel: "cam1" });
  return { ...base, userAgent: "VLC/3.0", sessionId: "sess-1", ...fields, params: new URLSearchParams(fields.query ?? base.query) };
};
const paramsOf = (url: string) => [...new URL(url).searchParams];
const response = (status: number, headers: Record<string, string> = {}, body = ""): BackendResponse => ({
  status,
  headers,
  body: Buffer.from(body),
});

describe("Flussonic-style protocols: Ministra, Smarty, IPTVPortal", () => {
  const checkUrls: [FlussonicType, string][] = [
    ["ministra", "http://portal.example/base/server/api/chk_flussonic_tmp_link.php"],
    ["smarty", "http://portal.example/base/tvmiddleware/api/streamservice/token/check/"],
    ["iptvportal", "http://portal.example/base/auth/arescrypt/"],
  ];
  for (const [type, checkUrl] of checkUrls) {
    it(`${type}: checks at <address><default checkPath>, the address's trailing slash dropped`, () => {
      expect(protocolFor(type).checkUrl).to.equal(checkUrl);
    });
  }

  it("ministra keeps the grant on a re-check by default; smarty and iptvportal ask again; the setting overrides", () => {
    expect(["ministra", "smarty", "iptvportal"].map((t) => protocolFor(t as FlussonicType).keepsGrantOnRecheck)).to.deep.equal([
      true,
      false,
      false,
    ]);
    expect(protocolFor("ministra", { recheckAsksBackend: true }).keepsGrantOnRecheck).to.equal(false);
  });

  it("sends every Flussonic parameter in order, percent-encoded, with no headers", () => {
    const call = protocolFor("ministra").build(request({ query: "token=a b&x=1" }), COUNTS);
    expect(
      call.url.startsWith("http://portal.example/base/server/api/chk_flussonic_tmp_link.php?name=cam1&proto=flv&ip=203.0.113.7&token=a+b&"),
    ).to.equal(true);
    expect(paramsOf(call.url)).to.deep.equal([
      ["name", "cam1"],
      ["proto", "flv"],
      ["ip", "203.0.113.7"],
      ["token", "a b"],
      ["session_id", "sess-1"],
      ["request_type", "new_session"],
      ["request_number", "1"],
      ["stream_clients", "3"],
      ["total_clients", "10"],
      ["qs", "token=a b&x=1"],
      ["user_agent", "VLC/3.0"],
    ]);
    expect(call.headers).to.deep.equal({});
    expect(call.readBody).to.equal(false);
  });

  const protos: [Protocol, string][] = [
    ["rtmp", "rtmp"],
    ["http-flv", "flv"],
    ["ws-flv", "ws"],
    ["hls", "hls"],
  ];
  for (const [protocol, proto] of protos) {
    it(`maps ${protocol} to proto=${proto}`, () => {
      expect(new URL(protocolFor("ministra").build(request({ protocol }), COUNTS).url).searchParams.get("proto")).to.equal(proto);
    });
  }

  it("a re-check is an update_session with its request number; no token is an empty token", () => {
    const params = new URL(protocolFor("smarty").build(request({ query: "", purpose: "recheck", requestNumber: 4 }), COUNTS).url)
      .searchParams;
    expect([params.get("request_type"), params.get("request_number"), params.get("token"), params.get("qs")]).to.deep.equal([
      "update_session",
      "4",
      "",
      "",
    ]);
  });

  it("smarty reads the body of its answer", () => {
    expect(protocolFor("smarty").build(request(), COUNTS).readBody).to.equal(true);
  });

  it("ministra and smarty never forward the viewer's own parameters", () => {
    for (const type of ["ministra", "smarty"] as const) {
      const names = paramsOf(protocolFor(type).build(request({ query: "token=t&extra=1" }), COUNTS).url).map(([n]) => n);
      expect(names, type).to.not.include("extra");
    }
  });

  it("iptvportal forwards the viewer's parameters after its own, minus any a backend could read as one of ours", () => {
    const query = "token=t&extra=a%23b&NAME=evil&ip[]=1.2.3.4&%20token=x&user.agent=u&request type=r&duration=9&Referer=r&keep=1";
    const params = paramsOf(protocolFor("iptvportal").build(request({ query }), COUNTS).url);
    expect(params.slice(11)).to.deep.equal([
      ["extra", "a#b"],
      ["keep", "1"],
    ]);
    expect(params.filter(([n]) => n === "token")).to.deep.equal([["token", "t"]]);
  });

  it("keys a verdict on the facts sent, not on the session id, request number or counts", () => {
    const protocol = protocolFor("ministra");
    const key = protocol.keyOf(request());
    expect(protocol.keyOf(request({ sessionId: "other", requestNumber: 9 }))).to.equal(key);
    expect(protocol.keyOf(request({ purpose: "recheck" }))).to.not.equal(key);
    expect(protocol.keyOf(request({ query: "token=other" }))).to.not.equal(key);
    expect(protocol.keyOf(request({ protocol: "hls" }))).to.not.equal(key);
    expect(protocolFor("smarty").keyOf(request())).to.not.equal(key);
  });

  describe("ministra and iptvportal answers", () => {
    const cases: [string, BackendResponse, object][] = [
      [
        "200 allows with the identity headers",
        response(200, { "x-userid": "u1", "x-authduration": "300" }),
        { kind: "allow", reason: "backend answered 200", user: { userId: "u1" }, authDurationSec: 300 },
      ],
      [
        "302 with Location denies with the redirect",
        response(302, { location: "https://portal.example/buy" }),
        { kind: "deny", redirectUrl: "https://portal.example/buy" },
      ],
      [
        "403 with Location denies without a redirect",
        response(403, { location: "https://x" }),
        { kind: "deny", reason: "backend answered 403", redirectUrl: undefined },
      ],
      ["500 is an error", response(500), { kind: "error", reason: "backend answered 500" }],
    ];
    for (const [name, res, expected] of cases) {
      it(name, () => {
        expect(protocolFor("ministra").interpret(res)).to.deep.include(expected);
        expect(protocolFor("iptvportal").interpret(res)).to.deep.include(expected);
      });
    }
  });

  describe("smarty answers: 200 with JSON error 0 allows", () => {
    const cases: [string, BackendResponse, object][] = [
      [
        "200 and error 0",
        response(200, { "x-session-name": "Ann" }, '{"error":0}'),
        { kind: "allow", reason: "smarty error 0 (valid)", user: { name: "Ann" }, authDurationSec: undefined },
      ],
      ['200 and error "0"', response(200, {}, '{"error":"0"}'), { kind: "allow", reason: "smarty error 0 (valid)" }],
      [
        "200 and error 1",
        response(200, {}, '{"error":1}'),
        { kind: "deny", reason: "backend answered 200: smarty error 1 (token expired)", redirectUrl: undefined },
      ],
      [
        "200 and error 2",
        response(200, {}, '{"error":2}'),
        { kind: "deny", reason: "backend answered 200: smarty error 2 (token issued for other content)" },
      ],
      [
        "200 and error 3",
        response(200, {}, '{"error":3}'),
        { kind: "deny", reason: "backend answered 200: smarty error 3 (token issued for another IP)" },
      ],
      [
        "200 and error 17",
        response(200, {}, '{"error":17}'),
        { kind: "deny", reason: "backend answered 200: smarty error 17 (unknown code)" },
      ],
      [
        "200 and error 0.5",
        response(200, {}, '{"error":0.5}'),
        { kind: "deny", reason: "backend answered 200: no JSON error code in the body" },
      ],
      ["200 and no body", response(200), { kind: "deny", reason: "backend answered 200: no JSON error code in the body" }],
      ["200 and JSON null", response(200, {}, "null"), { kind: "deny", reason: "backend answered 200: no JSON error code in the body" }],
      [
        "403 and error 0",
        response(403, { "x-authduration": "5" }, '{"error":0}'),
        { kind: "deny", reason: "backend answered 403: smarty error 0 (valid)", authDurationSec: 5 },
      ],
      ["302 with Location: no redirect for smarty", response(302, { location: "https://x" }, ""), { kind: "deny", redirectUrl: undefined }],
      ["503 is an error, whatever the body", response(503, {}, '{"error":0}'), { kind: "error", reason: "backend answered 503" }],
    ];
    for (const [name, res, expected] of cases) {
      it(name, () => {
        expect(protocolFor("smarty").interpret(res)).to.deep.include(expected);
      });
    }
  });
});
