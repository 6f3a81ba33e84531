import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeSecureLink } from "../../plugin/src/index.js";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { startBundledServer, waitFor, type RunningServer } from "../helpers/bundled-server.js";
import { auditSecrets } from "../helpers/log-audit.js";

const SECRET = "counted-across-restarts-secret";

describe("maxUses counts survive a restart of the bundled server (statistics database in its data directory)", function () {
  this.timeout(120_000);
  let dataDir: string;
  let run: RunningServer | undefined;

  const start = async () => {
    run = await startBundledServer({
      server: { dataDir },
      auth: { defaultAction: "deny", securetoken: { format: "astra", secrets: [SECRET], maxUses: 1 } },
    });
    await waitFor("the channel up", () => (run!.server.channelStatus()[0]?.state === "up" ? true : undefined), 60_000);
    return run;
  };
  /** The link's token: its hash covers the path and address, not the port, so it holds on the restarted server's new port. */
  const tokenOf = (lifetimeSec: number) =>
    new URL(makeSecureLink({ url: "http://127.0.0.1/live/test.flv", ip: "127.0.0.1", lifetimeSec, secret: SECRET })).searchParams.get(
      "token",
    )!;
  const flv = (server: RunningServer, token: string) => `${server.httpBase}/live/test.flv?token=${encodeURIComponent(token)}`;

  before(function () {
    if (!hasFfmpeg) this.skip();
    auditSecrets(SECRET);
    dataDir = mkdtempSync(join(tmpdir(), "va-link-uses-"));
  });
  afterEach(async () => {
    await run?.stop();
    run = undefined;
  });
  after(() => {
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  });

  it("a spent maxUses: 1 link is still refused after a restart; an unused one still plays once", async () => {
    const spent = tokenOf(600);
    const unused = tokenOf(601);
    auditSecrets(spent, unused);
    const first = await start();
    const played = await httpGetFor(flv(first, spent), 1000);
    expect(played.status).to.equal(200);
    expect(played.bytes).to.be.greaterThan(1000);
    expect((await httpGetFor(flv(first, spent), 800)).status, "spent before the restart").to.equal(403);
    await first.stop();
    run = undefined;

    const second = await start();
    const again = await httpGetFor(flv(second, spent), 800);
    expect(again.status, "spent after the restart").to.equal(403);
    expect(again.body.subarray(0, 3).toString()).to.not.equal("FLV");
    expect(second.logs.events("gate.link_used_up")).to.have.length(1);
    const fresh = await httpGetFor(flv(second, unused), 1000);
    expect(fresh.status, "a link never used keeps its one use").to.equal(200);
    expect((await httpGetFor(flv(second, unused), 800)).status).to.equal(403);
  });
});
