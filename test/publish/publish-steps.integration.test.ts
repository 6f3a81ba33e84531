import { expect } from "chai";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { LocalProcesses } from "../../plugin/src/net/process-proof.js";
import { InternalPublishStep } from "../../plugin/src/publish/internal-publish-step.js";
import { publishRequestOf } from "../../plugin/src/publish/publish-request.js";
import type { PublishAttempt } from "../../plugin/src/publish/publish-decision.js";
import { PASS } from "../../plugin/src/core/decision.js";

const request = (over: Partial<PublishAttempt> = {}) =>
  publishRequestOf({ app: "live", channel: "cam1", ip: "203.0.113.7", query: {}, protocol: "rtmp", ...over });

// The internal publish step with a real loopback TCP connection (the proof reads /proc): integration tier.
describe("internal, with a loopback connection this process holds", function () {
  let server: Server;
  let client: Socket;
  let accepted: Socket;
  before(async function () {
    if (process.platform !== "linux") this.skip(); // the proof reads /proc
    server = createServer();
    const served = new Promise<Socket>((resolve) => server.once("connection", resolve));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    client = createConnection(port, "127.0.0.1");
    await new Promise<void>((resolve) => client.once("connect", resolve));
    accepted = await served;
  });
  after(async () => {
    client?.destroy();
    accepted?.destroy();
    if (server !== undefined) await new Promise((resolve) => server.close(resolve));
  });

  it("lets in a loopback RTMP publisher whose client end a registered process holds; not over FLV, not from another address", () => {
    const mine = new LocalProcesses();
    mine.add(process.pid);
    const connection = { localPort: accepted.localPort!, remotePort: accepted.remotePort! };
    const step = new InternalPublishStep(mine);
    expect(step.decide(request({ ip: "127.0.0.1", connection }))).to.deep.equal({
      verdict: "allow",
      reason: "internal",
      detail: "the server's own ingest (proven from /proc)",
    });
    expect(step.decide(request({ ip: "127.0.0.1", protocol: "flv", connection }))).to.equal(PASS);
    expect(step.decide(request({ ip: "203.0.113.7", connection }))).to.equal(PASS);
  });
});
