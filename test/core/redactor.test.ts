import { expect } from "chai";
import { Writable } from "node:stream";
import { createLogger } from "../../plugin/src/core/log.js";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import { ConfigError } from "../../plugin/src/core/errors.js";
import { makeSecureLink } from "../../plugin/src/securetoken/make-secure-link.js";
import { Redactor } from "../../plugin/src/core/redactor.js";
import { serverConfigSchema } from "../../server/src/server-config-schema.js";

describe("Redactor", () => {
  const plain = new Redactor();

  it("removes URL userinfo, with or without a password, with or without a scheme", () => {
    const cases: [string, string][] = [
      ["http://user:pa55word@127.0.0.1:9/x: Connection refused", "http://<redacted>@127.0.0.1:9/x: Connection refused"],
      ["rtmps://only-a-token@cdn.example/live", "rtmps://<redacted>@cdn.example/live"],
      // URL parsers (and ffmpeg) split the authority at its last '@': a raw '@' in the password is userinfo too.
      ["Opening 'http://u:p@ss@h:80/a' for reading", "Opening 'http://<redacted>@h:80/a' for reading"],
      ["//u:pw@h/x", "//<redacted>@h/x"],
      ["[http @ 0x55] HTTP error 401 for http://a:b@[::1]:8080/", "[http @ 0x55] HTTP error 401 for http://<redacted>@[::1]:8080/"],
    ];
    for (const [input, expected] of cases) expect(plain.redact(input), input).to.equal(expected);
  });

  it("leaves text without credentials as it is", () => {
    const cases = [
      "rtmp://127.0.0.1:1935/live/test",
      "http://cdn.example/a.ts?quality=720&lang=en",
      "mail me at ops@example.org",
      "[tcp @ 0x55616ef3b540] Connection to tcp://127.0.0.1:9 failed: Connection refused",
      "a // comment with an @ later",
      "frame=  100 fps= 25 q=-1.0 size=N/A time=00:00:04.00",
    ];
    for (const input of cases) expect(plain.redact(input), input).to.equal(input);
  });

  it("removes the values of secret-looking query parameters, case-insensitively, in any URL-ish text", () => {
    expect(plain.redact("http://h/x?apikey=K&token=T: Connection refused")).to.equal(
      "http://h/x?apikey=<redacted>&token=<redacted>: Connection refused",
    );
    expect(plain.redact("rtmp://127.0.0.1:1935/live/test?va_internal=abc123&x=1")).to.equal(
      "rtmp://127.0.0.1:1935/live/test?va_internal=<redacted>&x=1",
    );
    const names = [
      "token",
      "Auth",
      "sign",
      "sig",
      "password",
      "pass",
      "passwd",
      "pwd",
      "secret",
      "KEY",
      "apikey",
      "api_key",
      "x-api-key",
      "access_token",
      "signature",
      "X-Amz-Signature",
      "client_secret",
      "va_internal",
      "vas",
      "hash",
      "api%5Fkey",
    ];
    for (const name of names)
      expect(plain.redact(`/live/t.flv?a=1&${name}=s3cr3t&b=2`), name).to.equal(`/live/t.flv?a=1&${name}=<redacted>&b=2`);
    expect(plain.redact("/live/t.flv?auth=login:pass%20word")).to.equal("/live/t.flv?auth=<redacted>");
    expect(plain.redact("/live/t.flv?channel=a&quality=hd")).to.equal("/live/t.flv?channel=a&quality=hd");
  });

  it("removes every known secret verbatim, as written, JSON-escaped or percent-encoded; short ones only by position", () => {
    const redactor = new Redactor(["internal-secret-0123", 'qu"ote\\secret', "p@ss/word", "short"]);
    expect(redactor.redact("packager said internal-secret-0123 twice: internal-secret-0123")).to.equal(
      "packager said <redacted> twice: <redacted>",
    );
    expect(redactor.redact(JSON.stringify({ e: 'qu"ote\\secret' }))).to.equal('{"e":"<redacted>"}');
    expect(redactor.redact("user=p%40ss%2Fword")).to.equal("user=<redacted>");
    expect(redactor.redact("a short word stays")).to.equal("a short word stays");
    expect(redactor.redact("?token=short")).to.equal("?token=<redacted>");
  });

  it("is idempotent: text redacted at its source passes the logger's redaction unchanged", () => {
    const redactor = new Redactor(["the-signing-secret"]);
    const inputs = [
      "http://u:p@ss@h/x?apikey=K&token=the-signing-secret&sign=1-abc: refused",
      "//u:pw@h/x?token=the-signing-secret",
      "rtmp://h/live/t?va_internal=the-signing-secret",
      "?token=",
      "?token=a<b>c&x=1",
    ];
    for (const input of inputs) {
      const once = redactor.redact(input);
      expect(redactor.redact(once), input).to.equal(once);
      expect(once, input).to.not.match(/the-signing-secret|p@ss|=K&|abc|a<b/);
    }
  });

  it("finds the credentials of a configured URL, as written and decoded", () => {
    expect(Redactor.credentialsIn("http://user:pa%40ss@h/x?apikey=K%2B1&quality=hd&Token=T")).to.have.members([
      "pa%40ss",
      "pa@ss",
      "K%2B1",
      "K+1",
      "T",
    ]);
    expect(Redactor.credentialsIn("not a url")).to.deep.equal([]);
  });

  it("keeps a JSON log line valid when a secret sits inside a number or across an escape", () => {
    const redactor = new Redactor(["1234567890", "ab\\ncd"]);
    const line = `${JSON.stringify({ pid: 1234567890123, text: "run 1234567890", other: "ab\\ncd" })}\n`;
    const out = redactor.redactJsonLine(line);
    expect(JSON.parse(out)).to.deep.equal({ pid: 1234567890123, text: "run <redacted>", other: "<redacted>" });
    const clean = `${JSON.stringify({ event: "auth.decision", path: "/live/test/index.m3u8" })}\n`;
    expect(redactor.redactJsonLine(clean)).to.equal(clean);
  });

  it("is applied to every line a logger created by createLogger writes", () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) });
    const log = createLogger("info", sink, new Redactor(["the-internal-secret"]));
    log.error(
      { event: "channel.process_down", lastError: "http://u:pa55word@h/x?apikey=K: refused", err: new Error("boom the-internal-secret") },
      "see rtmp://h/live/t?va_internal=the-internal-secret",
    );
    const text = lines.join("");
    for (const secret of ["pa55word", "apikey=K", "the-internal-secret"]) expect(text).to.not.include(secret);
    expect(JSON.parse(text)).to.include({ event: "channel.process_down", lastError: "http://<redacted>@h/x?apikey=<redacted>: refused" });
  });

  it("a ConfigError echoes a configured URL without its credentials", () => {
    const input = { channels: [{ id: "a", source: { type: "url", url: "ftp://user:pa55word@origin/x?apikey=K3y" } }] };
    let error: unknown;
    try {
      parseConfig(serverConfigSchema, input);
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).to.include('channels[0].source.url: "ftp://<redacted>@origin/x?apikey=<redacted>"');
    expect(message).to.not.include("pa55word");
    expect(message).to.not.include("K3y");
  });

  it("makeSecureLink's error names a bad URL without its credentials or the secret", () => {
    expect(() =>
      makeSecureLink({ url: "//u:pa55word@h/live/t.flv?token=the-signing-secret", secret: "the-signing-secret", lifetimeSec: 60 }),
    ).to.throw('url "//<redacted>@h/live/t.flv?token=<redacted>" is not an absolute URL');
  });
});
