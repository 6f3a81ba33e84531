import { expect } from "chai";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { startBundledServer, waitFor, type RunningServer } from "../helpers/bundled-server.js";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { TokenAuthorizer } from "../helpers/token-authorizer.js";
import { rawStatusLine } from "../helpers/raw-http.js";
import { sleep } from "../helpers/sleep.js";

const rawRequest = (port: number, text: string) => rawStatusLine(port, text, 1500);

describe("hostile input on the viewer port: precise answers, and a playing viewer loses nothing", function () {
  this.timeout(90000);
  let run: RunningServer;
  let port: number;

  before(async function () {
    if (!hasFfmpeg) this.skip();
    run = await startBundledServer({}, { authorizers: [new TokenAuthorizer()] });
    port = run.server.ports.http;
    await waitFor("HLS output", () => (existsSync(join(run.dataDir, "hls/live/test/index.m3u8")) ? true : undefined));
  });
  after(async () => run?.stop());

  it("answers oversized headers, malformed queries and junk with 4xx while an FLV viewer keeps playing", async () => {
    const viewer = httpGetFor(`http://127.0.0.1:${port}/live/test.flv?token=good`, 6000);
    const playing = await waitFor("the FLV viewer playing", () =>
      run.server.auth.sessions.list().find((s) => s.protocol === "http-flv" && s.state === "playing"),
    );
    const bytesBefore = playing.transport.bytesOut();

    const huge = "x".repeat(20 * 1024);
    expect(await rawRequest(port, `GET /live/test/index.m3u8?token=good HTTP/1.1\r\nHost: a\r\nX-Big: ${huge}\r\n\r\n`)).to.match(
      /^HTTP\/1\.1 431/,
    );
    expect(await rawRequest(port, "NOT-HTTP garbage\r\n\r\n")).to.match(/^HTTP\/1\.1 400/);
    for (const query of [
      "token=%ZZ",
      "token=%00",
      "token=&token=&token=",
      `token=${"a".repeat(6000)}`,
      "auth=%E0%A4%A",
      "auth=:",
      "%%%%=%%",
    ]) {
      for (const path of ["/live/test/index.m3u8", "/live/test.flv"]) {
        const result = await httpGetFor(`http://127.0.0.1:${port}${path}?${query}`, 1000);
        expect(result.status, `${path}?${query.slice(0, 20)}`).to.equal(403);
      }
    }
    expect(run.logs.events("hls.failed"), "no internal error").to.deep.equal([]);
    expect(run.logs.events("gate.failed"), "no internal error").to.deep.equal([]);

    // An HTTP-FLV publish NMS refuses (no publish sign): a real 403, not NMS's empty 200.
    const publish = await rawRequest(
      port,
      "POST /live/test.flv HTTP/1.1\r\nHost: a\r\nContent-Type: video/x-flv\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    expect(publish, "an unsigned HTTP-FLV publish").to.match(/^HTTP\/1\.1 403/);

    await sleep(500);
    expect(playing.state, "the viewer's session survived").to.equal("playing");
    expect(playing.transport.bytesOut(), "and kept receiving media").to.be.greaterThan(bytesBefore);
    const result = await viewer;
    expect(result.status).to.equal(200);
  });
});
