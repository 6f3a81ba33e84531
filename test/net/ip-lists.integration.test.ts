import { expect } from "chai";
import { startNms, type NmsInstance } from "../helpers/nms-instance.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { ScriptedAuthorizer } from "../helpers/scripted-authorizer.js";
import { allow, PASS, type AuthRequest } from "../../plugin/src/index.js";

/** Allows `token=good`, passes everything else: stands in for a valid credential. */
class GoodTokenAuthorizer extends ScriptedAuthorizer {
  override async decide(request: AuthRequest) {
    this.seen.push(request);
    return request.params.get("token") === "good" ? allow("good token") : PASS;
  }
}

describe("deny and allow lists on a dual-stack NMS (IPv6, IPv4-mapped)", function () {
  this.timeout(20000);
  const credentials = new GoodTokenAuthorizer();
  let nms: NmsInstance;

  before(async () => {
    nms = await startNms(
      { auth: { defaultAction: "deny", denyIps: ["::1", "127.0.0.2/32"], allowIps: ["127.0.0.3"] } },
      { authorizers: [credentials] },
      "::",
    );
  });
  after(async () => nms?.stop());

  const lastDecision = () => nms.logs.events("auth.decision").at(-1)!;
  const url = (host: string, query = "") => `http://${host}:${nms.httpPort}/live/lists.flv${query}`;

  it("denies an IPv6 viewer on [::1] by an IPv6 rule, valid credentials or not", async () => {
    const result = await httpGetFor(url("[::1]", "?token=good"), 1000);
    expect(result.status).to.equal(403);
    expect(lastDecision()).to.include({ ip: "::1", step: "ip-deny", verdict: "deny", reason: "address on deny list (::1)" });
  });

  it("denies an IPv4-mapped viewer (::ffff:127.0.0.2) by an IPv4 rule, with valid credentials", async () => {
    const result = await httpGetFor(url("127.0.0.2", "?token=good"), 1000, { localAddress: "127.0.0.2" });
    expect(result.status).to.equal(403);
    expect(lastDecision()).to.include({ ip: "127.0.0.2", step: "ip-deny", reason: "address on deny list (127.0.0.2/32)" });
  });

  it("lets an allow-listed IPv4-mapped viewer in without credentials", async () => {
    const result = await httpGetFor(url("127.0.0.3"), 500, { localAddress: "127.0.0.3" });
    expect(result.status).to.equal(200);
    expect(lastDecision()).to.include({ ip: "127.0.0.3", step: "ip-allow", verdict: "allow" });
  });

  it("passes unlisted viewers on to the next step, and the default denies the rest", async () => {
    expect((await httpGetFor(url("127.0.0.1", "?token=good"), 500)).status).to.equal(200);
    expect(lastDecision()).to.include({ step: "custom", verdict: "allow" });
    expect((await httpGetFor(url("127.0.0.1", "?token=bad"), 500)).status).to.equal(403);
    expect(lastDecision()).to.include({ step: "default", verdict: "deny" });
  });
});
