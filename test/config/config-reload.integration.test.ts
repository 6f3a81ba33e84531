import { expect } from "chai";
import { ConfigError, makeSecureLink, type PluginConfigInput } from "../../plugin/src/index.js";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { startPublishingNms, type NmsInstance } from "../helpers/nms-instance.js";
import { sleep } from "../helpers/sleep.js";

describe("configuration reload on a running NMS: lists and default action now, the rest after a restart", function () {
  this.timeout(60000);
  let nms: NmsInstance;
  const flv = () => `http://127.0.0.1:${nms.httpPort}/live/reload.flv`;
  const base = { auth: { defaultAction: "allow" as const }, sessions: { recheckIntervalSec: 0 } };

  before(async function () {
    if (!hasFfmpeg) this.skip();
    nms = await startPublishingNms(base, "live/reload");
  });
  after(async () => nms?.stop());

  it("a typo is refused with every issue and changes nothing; the playing viewer carries on", async () => {
    const viewer = httpGetFor(flv(), 2500);
    await sleep(500);
    let error: unknown;
    try {
      // A YAML file or an untyped caller can hand over anything; the types would catch it in code.
      nms.auth.reload({
        auth: { defaultAction: "maybe", denyIp: ["127.0.0.1"] },
        sessions: { recheckIntervalSec: -1 },
      } as unknown as PluginConfigInput);
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => i.path).sort()).to.deep.equal([
      "auth.defaultAction",
      "auth.denyIp",
      "sessions.recheckIntervalSec",
    ]);
    expect(nms.auth.config.auth.defaultAction).to.equal("allow");
    const result = await viewer;
    expect(result.status).to.equal(200);
    expect(result.bytes, "kept streaming").to.be.greaterThan(10_000);
  });

  it("a new deny list cuts a playing viewer on it within 1 s and refuses new ones; other keys wait for a restart", async () => {
    const viewer = httpGetFor(flv(), 20000);
    await sleep(500);
    const reloadedAt = Date.now();
    const outcome = nms.auth.reload({ ...base, auth: { ...base.auth, denyIps: ["127.0.0.0/8"] }, api: { port: 9999 } });
    expect(outcome).to.deep.equal({ applied: ["auth.denyIps"], restartNeeded: ["api.port"] });
    const result = await viewer;
    expect(Date.now() - reloadedAt, "cut within 1 s").to.be.lessThan(1000);
    expect(result.status).to.equal(200);
    expect((nms.logs.events("session.end").at(-1)!.session as { reason: string }).reason).to.equal("denied-on-recheck");
    expect((await httpGetFor(flv(), 1000)).status).to.equal(403);
    expect(nms.logs.events("config.reloaded").at(-1)).to.deep.include({ applied: ["auth.denyIps"], restartNeeded: ["api.port"] });
    expect(nms.logs.events("config.restart_needed").at(-1)).to.deep.include({ keys: ["api.port"] });
  });

  it("the default action and the allow list change for the next viewer", async () => {
    nms.auth.reload({ ...base, auth: { defaultAction: "deny" } });
    expect((await httpGetFor(flv(), 500)).status, "deny list gone, default now deny").to.equal(403);
    nms.auth.reload({ ...base, auth: { defaultAction: "deny", allowIps: ["127.0.0.1"] } });
    expect((await httpGetFor(flv(), 500)).status, "on the new allow list").to.equal(200);
    expect(nms.auth.config.auth.allowIps.map((r) => r.text)).to.deep.equal(["127.0.0.1"]);
  });

  it("session caps and the limit policy apply to the next viewers", async () => {
    const capped = (limitPolicy: "reject-new" | "close-oldest") => ({ ...base, sessions: { ...base.sessions, maxPerIp: 1, limitPolicy } });
    expect(nms.auth.reload(capped("reject-new")).applied).to.deep.equal(
      ["auth.defaultAction", "auth.allowIps", "sessions.maxPerIp"].sort(),
    );
    const first = httpGetFor(flv(), 10000).then(() => Date.now());
    await sleep(500);
    expect((await httpGetFor(flv(), 500)).status, "a second viewer from the same address").to.equal(403);
    expect(nms.auth.reload(capped("close-oldest")).applied).to.deep.equal(["sessions.limitPolicy"]);
    const joinedAt = Date.now();
    const second = await httpGetFor(flv(), 500);
    expect(second.status, "now the newcomer plays").to.equal(200);
    expect((await first) - joinedAt, "the oldest viewer was closed to make room").to.be.lessThan(1500);
    const reasons = nms.logs.events("session.end").map((l) => (l.session as { reason: string }).reason);
    expect(reasons.filter((r) => r === "limit")).to.have.length(2);
  });
});

describe("configuration reload: securetoken secrets rotate without a restart", function () {
  this.timeout(60000);
  let nms: NmsInstance;
  const url = () => `http://127.0.0.1:${nms.httpPort}/live/rotate.flv`;
  const link = (secret: string) => makeSecureLink({ url: url(), ip: "127.0.0.1", lifetimeSec: 600, secret });
  const config = (secrets: string[]) => ({ auth: { defaultAction: "deny" as const, securetoken: { secrets } } });

  before(async function () {
    if (!hasFfmpeg) this.skip();
    nms = await startPublishingNms(config(["rotation-secret-old"]), "live/rotate");
  });
  after(async () => nms?.stop());

  it("new secrets are in force at once; switching the step off waits for a restart and changes nothing", async () => {
    expect((await httpGetFor(link("rotation-secret-old"), 500)).status).to.equal(200);
    const rotated = nms.auth.reload(config(["rotation-secret-new", "rotation-secret-old"]));
    expect(rotated).to.deep.equal({ applied: ["auth.securetoken"], restartNeeded: [] });
    expect((await httpGetFor(link("rotation-secret-new"), 500)).status, "the new secret").to.equal(200);
    nms.auth.reload(config(["rotation-secret-new"]));
    expect((await httpGetFor(link("rotation-secret-old"), 500)).status, "the retired secret").to.equal(403);

    const off = nms.auth.reload(config([]));
    expect(off).to.deep.equal({ applied: [], restartNeeded: ["auth.securetoken"] });
    expect((await httpGetFor(link("rotation-secret-new"), 500)).status, "not half-applied").to.equal(200);
    expect(nms.auth.config.auth.securetoken.secrets, "the configuration in force").to.deep.equal(["rotation-secret-new"]);
    expect(nms.auth.reload(config([])).restartNeeded, "still waiting on the next reload").to.deep.equal(["auth.securetoken"]);
  });
});
