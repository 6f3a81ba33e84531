import { expect } from "chai";
import { Dispatcher } from "undici";
import { BackendTransport } from "../../plugin/src/backend/backend-transport.js";
import { MAX_BACKEND_HEADER_BYTES } from "../../plugin/src/backend/check-backend-call.js";
import { recheckOf, type AuthRequest } from "../../plugin/src/core/auth-request.js";
import { BackendRequestError } from "../../plugin/src/core/errors.js";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { freePort } from "../helpers/free-port.js";
import { startPublishingNms, type NmsInstance } from "../helpers/nms-instance.js";
import { connectObject, MESSAGE_TYPE, RawRtmpClient } from "../helpers/rtmp-wire.js";
import { authRequest } from "../helpers/viewer-request.js";
import { backendStep, type BackendStepHarness } from "../helpers/backend-step.js";
import { answer, startStubBackend, type StubBackend } from "../helpers/stub-backend.js";
import { waitUntil } from "../helpers/wait-for.js";

// A regression: with `onUnreachable: allow`, an RTMP flashVer/tcUrl with CR/LF made undici refuse the
// header value, that error was taken for "backend unreachable", and the viewer played although the
// backend (which saw no request) would have refused. A request that cannot be built now denies.

/** The AuthRequest fields that reach the http-request backend as header values, and the header each becomes. */
const HEADER_FIELDS = [
  ["userAgent", "X-Real-Ua"],
  ["host", "X-Real-Host"],
  ["origin", "X-Real-Origin"],
  ["path", "X-Real-Path"],
  ["channel", "X-Channel-Id"],
] as const;
const CONTROLS = { CRLF: "\r\n", LF: "\n", CR: "\r", NUL: "\u0000", ESC: "\u001b", DEL: "\u007f" } as const;

describe("a backend request that cannot be built denies, never counts as unreachable", () => {
  let backend: StubBackend;
  let harness: BackendStepHarness | undefined;

  before(async () => (backend = await startStubBackend()));
  after(async () => backend.close());
  beforeEach(() => {
    backend.calls.length = 0;
    // The backend would refuse every one of these viewers.
    backend.respond = (req, res) => answer(new URL(req.url ?? "/", "http://x").searchParams.get("token") === "12" ? 200 : 403)(req, res);
  });
  afterEach(async () => {
    await harness?.step.close?.();
    harness = undefined;
  });

  const allowOnUnreachable = (extra: Record<string, unknown> = {}) =>
    (harness = backendStep({ type: "http-request", url: `${backend.base}/check`, onUnreachable: "allow", denyTtlSec: 0, ...extra }));

  for (const [field, header] of HEADER_FIELDS) {
    it(`a control character in ${field} (${header}) denies with onUnreachable: allow; the backend sees 0 requests; backend.request_invalid is logged`, async () => {
      allowOnUnreachable();
      for (const [label, control] of Object.entries(CONTROLS)) {
        const request = authRequest({ [field]: `x${control}Injected: yes`, query: "token=bad" } as Partial<AuthRequest>);
        const verdict = await harness!.step.decide(request);
        const code = `0x${control.charCodeAt(0).toString(16).padStart(2, "0")}`;
        expect(verdict, label).to.deep.equal({
          verdict: "deny",
          reason: `backend request not sent: header ${header} has a control character (${code}) at position 1`,
        });
        const line = harness!.logs.events("backend.request_invalid").at(-1);
        expect(line, label).to.include({
          level: 40,
          sessionId: request.sessionId,
          purpose: "new",
          problem: `header ${header} has a control character (${code}) at position 1`,
        });
      }
      expect(backend.calls, "requests the backend saw").to.have.length(0);
      expect(harness!.logs.events("backend.unreachable")).to.have.length(0);
      expect(harness!.logs.raw.join("\n"), "the value itself is never logged").to.not.include("Injected");
    });
  }

  it("a re-check behaves the same: deny, no stale-if-error grace, no onUnreachable", async () => {
    allowOnUnreachable({ staleIfErrorSec: 600 });
    const session = harness!.openSession();
    backend.respond = answer(200);
    const clean = authRequest({ sessionId: session.id });
    expect((await harness!.step.decide(clean)).verdict, "the session was allowed once").to.equal("allow");
    const tainted = recheckOf({ ...clean, userAgent: "LNX 9,0,124,2\r\nX-Forwarded-For: 10.0.0.1" });
    expect(await harness!.step.decide(tainted)).to.deep.equal({
      verdict: "deny",
      reason: "backend request not sent: header X-Real-Ua has a control character (0x0d) at position 13",
    });
    expect(await harness!.step.decide(recheckOf(tainted))).to.deep.equal({
      verdict: "deny",
      reason: "backend request not sent: header X-Real-Ua has a control character (0x0d) at position 13",
    });
    expect(harness!.logs.events("backend.request_invalid").map((l) => l.purpose)).to.deep.equal(["recheck", "recheck"]);
    expect(harness!.logs.events("backend.stale_if_error")).to.have.length(0);
    expect(backend.calls, "only the clean first check reached the backend").to.have.length(1);
  });

  it(`a header value over ${MAX_BACKEND_HEADER_BYTES} bytes (a 1 MiB flashVer) denies without a request`, async () => {
    allowOnUnreachable();
    const verdict = await harness!.step.decide(authRequest({ userAgent: "F".repeat(1024 * 1024) }));
    expect(verdict).to.deep.equal({
      verdict: "deny",
      reason: `backend request not sent: header X-Real-Ua is 1048576 characters long (limit ${MAX_BACKEND_HEADER_BYTES} bytes)`,
    });
    expect(backend.calls).to.have.length(0);
  });

  it("a viewer query a URL cannot carry verbatim denies: 'token=1\\n2' is not sent as token=12", async () => {
    allowOnUnreachable();
    for (const [query, code, at] of [
      ["token=1\n2", "0x0a", 7],
      ["token=1\r\n2", "0x0d", 7],
      ["token=1\u00002", "0x00", 7],
      ["token=1\t2", "0x09", 7],
      ["token=bad#&token=12", "0x23", 9],
      ["token=a b", "0x20", 7],
      ["token=caf\u00e9", "0xe9", 9],
    ] as const) {
      expect(await harness!.step.decide(authRequest({ query })), JSON.stringify(query)).to.deep.equal({
        verdict: "deny",
        reason: `backend request not sent: the viewer's query has a character a URL cannot carry verbatim (${code}) at position ${at}`,
      });
    }
    expect(backend.calls).to.have.length(0);
    // The printable ASCII a player sends still goes verbatim.
    expect((await harness!.step.decide(authRequest({ query: "token=12&x=%20y|z~!$'()*,;:@/?" }))).verdict).to.equal("allow");
    expect(backend.calls.map((c) => c.rawUrl)).to.deep.equal(["/check?token=12&x=%20y|z~!$%27()*,;:@/?"]);
  });

  it("a User-Agent beyond Latin-1 (RTMP's UTF-8 flashVer) reaches the backend as its UTF-8 bytes", async () => {
    allowOnUnreachable();
    await harness!.step.decide(authRequest({ userAgent: "Player \u65e5\u672c" }));
    expect(backend.calls).to.have.length(1);
    expect(Buffer.from(backend.calls[0]!.headers["x-real-ua"] as string, "latin1").toString("utf8")).to.equal("Player \u65e5\u672c");
  });

  it("a refused port is still unreachable (onUnreachable applies), while an unbuildable request beside it denies", async () => {
    const port = await freePort();
    harness = backendStep({ type: "http-request", url: `http://127.0.0.1:${port}/check`, onUnreachable: "allow", allowTtlSec: 10 });
    expect(await harness.step.decide(authRequest())).to.deep.equal({
      verdict: "allow",
      reason: "backend unreachable (refused); default action allow",
      ttlSec: 10,
    });
    expect((await harness.step.decide(authRequest({ host: "a\r\nb" }))).verdict).to.equal("deny");
    expect(harness.logs.events("backend.unreachable")).to.have.length(1);
    expect(harness.logs.events("backend.request_invalid")).to.have.length(1);
  });

  it("Flussonic types carry the same viewer text percent-encoded, so the backend gets the request and decides", async () => {
    harness = backendStep({ type: "ministra", address: backend.base, onUnreachable: "allow", denyTtlSec: 0 });
    expect(await harness.step.decide(authRequest({ userAgent: "x\r\ny\u0000", query: "token=bad" }))).to.deep.equal({
      verdict: "deny",
      reason: "backend answered 403",
    });
    expect(backend.calls).to.have.length(1);
    expect(new URL(backend.calls[0]!.rawUrl, "http://x").searchParams.get("user_agent")).to.equal("x\r\ny\u0000");
  });

  describe("errors the transport does not recognise", () => {
    /** A dispatcher that fails every request with the given error before anything is sent. */
    class FailingDispatcher extends Dispatcher {
      constructor(private readonly error: Error) {
        super();
      }
      override dispatch(): boolean {
        throw this.error;
      }
      override async close(): Promise<void> {}
      override async destroy(): Promise<void> {}
    }

    it("undici refusing a request (UND_ERR_INVALID_ARG) is a BackendRequestError, not unreachable; the backend sees 0 requests", async () => {
      const transport = new BackendTransport({
        url: `${backend.base}/`,
        connections: 1,
        connectTimeoutMs: 1000,
        timeoutMs: 3000,
        caFile: null,
      });
      try {
        const error = await transport.get(`${backend.base}/check`, { "X-Real-Ua": "a\r\nb" }, false).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(BackendRequestError);
        expect(error).to.include({ code: "VA_ERR_BACKEND_REQUEST_INVALID", problem: "refused by the HTTP client (UND_ERR_INVALID_ARG)" });
        expect(backend.calls).to.have.length(0);
      } finally {
        await transport.close();
      }
    });

    it("an unknown error denies (fail closed) with backend.call_failed at error level, whatever onUnreachable says", async () => {
      const weird = Object.assign(new RangeError("something odd about http://127.0.0.1/check?token=s3cr3t-tok"), {
        code: "ERR_SOMETHING_NEW",
      });
      harness = backendStep(
        { type: "http-request", url: `${backend.base}/check`, onUnreachable: "allow" },
        { dispatcher: new FailingDispatcher(weird) },
      );
      const session = harness.openSession();
      const request = authRequest({ sessionId: session.id, query: "token=s3cr3t-tok" });
      expect(await harness.step.decide(request)).to.deep.equal({
        verdict: "deny",
        reason: "backend call failed (RangeError ERR_SOMETHING_NEW)",
      });
      expect(await harness.step.decide(recheckOf(request))).to.deep.equal({
        verdict: "deny",
        reason: "backend call failed (RangeError ERR_SOMETHING_NEW)",
      });
      expect(harness.logs.events("backend.call_failed")[0]).to.include({
        level: 50,
        error: "RangeError ERR_SOMETHING_NEW",
        purpose: "new",
      });
      expect(harness.logs.events("backend.unreachable")).to.have.length(0);
      expect(harness.logs.raw.join("\n")).to.not.include("s3cr3t-tok");
    });
  });

  it("checks beyond maxPendingCalls are denied (backend.busy), not queued without bound and not let through", async () => {
    allowOnUnreachable({ maxPendingCalls: 2 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    backend.respond = (req, res) => void gate.then(() => answer(200)(req, res));
    const first = [harness!.step.decide(authRequest({ query: "token=a" })), harness!.step.decide(authRequest({ query: "token=b" }))];
    // A third distinct check while two calls wait: refused at once.
    expect(await harness!.step.decide(authRequest({ query: "token=c" }))).to.deep.equal({
      verdict: "deny",
      reason: "backend busy: 2 calls pending (auth.backend.maxPendingCalls)",
    });
    // The same facts as a call in flight still join it (coalescing needs no new call).
    const joined = harness!.step.decide(authRequest({ query: "token=a" }));
    release();
    expect((await Promise.all([...first, joined])).map((v) => v.verdict)).to.deep.equal(["allow", "allow", "allow"]);
    expect(harness!.logs.events("backend.busy")[0]).to.include({ level: 40, maxPendingCalls: 2 });
    expect(backend.calls).to.have.length(2);
    expect((await harness!.step.decide(authRequest({ query: "token=c" }))).verdict, "room again once the calls are answered").to.equal(
      "allow",
    );
  });
});

describe("through a real NMS: an RTMP viewer with control characters gets no media with onUnreachable: allow", function () {
  this.timeout(60000);
  let backend: StubBackend;
  let nms: NmsInstance;

  before(async function () {
    if (!hasFfmpeg) this.skip();
    backend = await startStubBackend();
    backend.respond = (req, res) => answer(new URL(req.url ?? "/", "http://x").searchParams.get("token") === "good" ? 200 : 403)(req, res);
    nms = await startPublishingNms(
      {
        auth: {
          defaultAction: "deny",
          backend: { type: "http-request", url: `${backend.base}/auth`, onUnreachable: "allow", denyTtlSec: 0 },
        },
        sessions: { recheckIntervalSec: 0 },
      },
      "live/fo",
    );
  });

  after(async () => {
    await nms?.stop();
    await backend?.close();
  });

  /**
   * Connects with the command object's extra fields, plays `stream`, and reports what came back until
   * the server closed, the first media message arrived, or `ms` passed.
   */
  async function playRaw(
    extra: Record<string, string>,
    stream: string,
    ms: number,
  ): Promise<{ mediaMessages: number; statuses: string[] }> {
    const client = await RawRtmpClient.open(nms.rtmpPort);
    const media = () => client.messages.filter((m) => m.type === MESSAGE_TYPE.audio || m.type === MESSAGE_TYPE.video).length;
    try {
      await client.handshake();
      client.connect(connectObject(nms.rtmpPort, "live", extra));
      client.play(stream);
      let closed = false;
      void client.closed.then(() => (closed = true));
      // Watches for at most `ms`: neither a close nor media within it is an answer, not a failure.
      await waitUntil("a close or media", () => closed || media() > 0, ms, 25).catch(() => undefined);
      return { mediaMessages: media(), statuses: client.statusCodes() };
    } finally {
      client.destroy();
    }
  }

  it("a clean viewer with the good token plays (the setup can deliver media)", async () => {
    const clean = await playRaw({}, "fo?token=good", 10_000);
    expect(clean.mediaMessages).to.be.greaterThan(0);
  });

  for (const [label, extra, stream] of [
    ["flashVer with CR/LF", { flashVer: "LNX 9,0,124,2\r\nX-Injected: 1" }, "fo?token=bad"],
    ["flashVer with NUL", { flashVer: "LNX\u00009" }, "fo?token=bad"],
    // NMS itself parses tcUrl with new URL (which drops CR/LF); the plugin reads the raw host out of it.
    ["tcUrl host with CR/LF", { tcUrl: "rtmp://127.0.0.1\r\n.x/live" }, "fo?token=bad"],
  ] as const) {
    it(`${label}: 0 media messages, and the backend saw 0 requests`, async () => {
      backend.calls.length = 0;
      const result = await playRaw(extra, stream, 1500);
      expect(result.mediaMessages, `statuses: ${result.statuses.join(", ")}`).to.equal(0);
      expect(backend.calls, JSON.stringify(backend.calls.map((c) => [c.rawUrl, c.headers["x-real-host"]]))).to.have.length(0);
    });
  }

  it("a line break in the stream name's query: the input shield refuses the play before the chain, so no media and no backend call", async () => {
    backend.calls.length = 0;
    const result = await playRaw({}, "fo?token=bad\n", 1500);
    expect(result.mediaMessages).to.equal(0);
    expect(backend.calls).to.have.length(0);
  });
});
