import { expect } from "chai";
import { checkBackendCall, MAX_BACKEND_HEADER_BYTES, MAX_BACKEND_URL_LENGTH } from "../../plugin/src/backend/check-backend-call.js";
import type { BackendCall } from "../../plugin/src/backend/backend-protocol.js";
import { BackendRequestError } from "../../plugin/src/core/errors.js";
import { thrown } from "../helpers/thrown.js";

const TARGET = "http://127.0.0.1:6000/check";
const call = (headers: Record<string, string>, url = `${TARGET}?token=123`): BackendCall => ({ url, headers, readBody: false });

/** Runs the check and returns the BackendRequestError it throws (fails the test when it does not throw one). */
function refusal(of: BackendCall): BackendRequestError {
  return thrown(() => checkBackendCall(of, TARGET), BackendRequestError);
}

describe("checkBackendCall", () => {
  it("passes a well-formed call through unchanged (tab, Latin-1 and empty values are field values)", () => {
    const ok = call({
      "X-Real-Ua": "VLC/3.0.20\tLibVLC",
      "X-Real-Host": "live.example.com:8443",
      "X-Real-Path": "/live/caf\u00e9.flv",
      "X-Real-Origin": "",
    });
    expect(checkBackendCall(ok, TARGET)).to.deep.equal(ok);
  });

  for (const [label, bad] of [
    ["CR", "\r"],
    ["LF", "\n"],
    ["CRLF", "\r\n"],
    ["NUL", "\u0000"],
    ["0x01", "\u0001"],
    ["0x1f", "\u001f"],
    ["DEL", "\u007f"],
  ] as const) {
    it(`refuses a header value with ${label}, naming the header and the position, never the value`, () => {
      const error = refusal(call({ "X-Session-Id": "s-1", "X-Real-Ua": `secret-ua${bad}Injected: 1` }));
      const code = `0x${bad.charCodeAt(0).toString(16).padStart(2, "0")}`;
      expect(error.code).to.equal("VA_ERR_BACKEND_REQUEST_INVALID");
      expect(error.problem).to.equal(`header X-Real-Ua has a control character (${code}) at position 9`);
      expect(error.message).to.equal(
        `auth backend ${TARGET}: request not sent: header X-Real-Ua has a control character (${code}) at position 9`,
      );
      expect(error.message).to.not.include("secret-ua");
    });
  }

  it(`caps a header value at ${MAX_BACKEND_HEADER_BYTES} bytes, counting the UTF-8 bytes of characters beyond Latin-1`, () => {
    expect(checkBackendCall(call({ "X-Real-Ua": "u".repeat(MAX_BACKEND_HEADER_BYTES) }), TARGET).headers["X-Real-Ua"]).to.have.length(
      MAX_BACKEND_HEADER_BYTES,
    );
    expect(refusal(call({ "X-Real-Ua": "u".repeat(MAX_BACKEND_HEADER_BYTES + 1) })).problem).to.equal(
      `header X-Real-Ua is ${MAX_BACKEND_HEADER_BYTES + 1} characters long (limit ${MAX_BACKEND_HEADER_BYTES} bytes)`,
    );
    expect(refusal(call({ "X-Real-Ua": "\u65e5".repeat(700) })).problem).to.equal(
      `header X-Real-Ua is 2100 bytes long (limit ${MAX_BACKEND_HEADER_BYTES})`,
    );
    expect(refusal(call({ "X-Real-Ua": "x".repeat(1024 * 1024) })).problem).to.match(/^header X-Real-Ua is 1048576 characters long/);
  });

  it("sends a character beyond Latin-1 (an RTMP UTF-8 string) as its UTF-8 bytes instead of refusing or dropping it", () => {
    const sent = checkBackendCall(call({ "X-Real-Ua": "Player \u65e5\u672c" }), TARGET).headers["X-Real-Ua"]!;
    expect(Buffer.from(sent, "latin1").toString("utf8")).to.equal("Player \u65e5\u672c");
    expect(sent).to.match(/^[\u0020-\u00ff]+$/);
  });

  it("refuses a URL with a control character (tab included: the URL parser would drop it silently)", () => {
    expect(refusal(call({}, `${TARGET}?token=1\n2`)).problem).to.equal("URL has a control character (0x0a) at position 35");
    expect(refusal(call({}, `${TARGET}?token=1\t2`)).problem).to.equal("URL has a control character (0x09) at position 35");
  });

  it(`refuses a URL over ${MAX_BACKEND_URL_LENGTH} characters, one that does not parse, and one that is not http(s)`, () => {
    const long = `${TARGET}?q=${"a".repeat(MAX_BACKEND_URL_LENGTH)}`;
    expect(refusal(call({}, long)).problem).to.equal(`URL is ${long.length} characters long (limit ${MAX_BACKEND_URL_LENGTH})`);
    expect(refusal(call({}, "not a url")).problem).to.equal("URL does not parse");
    expect(refusal(call({}, "file:///etc/passwd")).problem).to.equal("URL scheme file: is not http or https");
  });
});
