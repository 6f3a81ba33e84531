import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasFfmpeg, playWithFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor, wsReadFor } from "../helpers/flv-clients.js";
import { startBundledServer, waitFor, type RunningServer } from "../helpers/bundled-server.js";
import { writeMmdb } from "../helpers/mmdb-writer.js";

const COUNTRY_DB = "node_modules/@ip-location-db/geolite2-country-mmdb/geolite2-country.mmdb";
const TOKEN = "geo-viewer-token-1";
// Countries as the shipped database has them (checked in test/geo/geo-rules.test.ts): 8.8.8.8 US, 77.88.8.8 RU.
const US = "8.8.8.8";
const RU = "77.88.8.8";
const IN_DENIED_AS = "198.51.100.7";

describe("country and network rules: real plays through the bundled server behind a trusted proxy", function () {
  this.timeout(120000);
  let run: RunningServer;
  const dir = mkdtempSync(join(tmpdir(), "va-geo-play-"));

  before(async function () {
    if (!hasFfmpeg) this.skip();
    const asnDatabase = join(dir, "asn.mmdb");
    writeFileSync(
      asnDatabase,
      writeMmdb([{ cidr: "198.51.100.0/24", record: { autonomous_system_number: 64500, autonomous_system_organization: "Test Net" } }]),
    );
    run = await startBundledServer({
      auth: {
        trustedProxies: ["127.0.0.1"],
        users: [{ login: "viewer", tokens: [TOKEN], packages: ["*"] }],
        geo: { countryDatabase: COUNTRY_DB, asnDatabase, denyCountries: ["RU"], denyAsns: [64500] },
      },
    });
    await waitFor("the channel up", () => (run.server.channelStatus()[0]?.state === "up" ? true : undefined), 60000);
  });
  after(async () => {
    await run?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const flv = () => `${run.httpBase}/live/test.flv?token=${TOKEN}`;
  const lastDecision = () => run.logs.events("auth.decision").at(-1)!;
  const via = (ip: string) => ({ headers: { "x-forwarded-for": ip } });

  it("runs the geo step with the address lists, before the credentials", () => {
    expect(run.server.auth.chain.stepNames).to.deep.equal(["internal", "revoked", "ip-deny", "ip-allow", "geo", "users"]);
  });

  it("HTTP-FLV: a viewer in an allowed country plays; a denied country and a denied network get 0 bytes", async () => {
    const allowed = await httpGetFor(flv(), 1200, via(US));
    expect(allowed.status).to.equal(200);
    expect(allowed.body.subarray(0, 3).toString()).to.equal("FLV");
    expect(lastDecision()).to.include({ ip: US, step: "users", verdict: "allow" });
    const denied = await httpGetFor(flv(), 800, via(RU));
    expect(denied.status).to.equal(403);
    expect(denied.body.includes(Buffer.from("FLV"))).to.equal(false);
    expect(lastDecision()).to.include({ ip: RU, step: "geo", verdict: "deny", code: "country-denied" });
    const network = await httpGetFor(flv(), 800, via(IN_DENIED_AS));
    expect(network.status).to.equal(403);
    expect(lastDecision()).to.include({ ip: IN_DENIED_AS, step: "geo", code: "asn-denied" });
  });

  it("WS-FLV and HLS: the resolved address decides", async () => {
    const ws = flv().replace("http:", "ws:");
    expect((await wsReadFor(ws, 1200, via(US))).data.subarray(0, 3).toString()).to.equal("FLV");
    expect((await wsReadFor(ws, 800, via(RU))).bytes).to.equal(0);
    expect(lastDecision()).to.include({ protocol: "ws-flv", step: "geo", code: "country-denied" });
    const playlist = `${run.httpBase}/live/test/index.m3u8?token=${TOKEN}`;
    const allowed = await fetch(playlist, via(US));
    expect(allowed.status).to.equal(200);
    await allowed.arrayBuffer();
    const denied = await fetch(playlist, via(RU));
    expect(denied.status).to.equal(403);
    expect(Buffer.from(await denied.arrayBuffer()).includes(Buffer.from("#EXTM3U"))).to.equal(false);
    expect(lastDecision()).to.include({ protocol: "hls", step: "geo", code: "country-denied" });
  });

  it("RTMP from a loopback address (no country; no allow list) plays", async () => {
    const played = await playWithFfmpeg(`${run.rtmpBase}/live/test?token=${TOKEN}`, { seconds: 1 });
    expect(played.stdoutBytes).to.be.greaterThan(1000);
  });

  it("reads the databases again on a configuration reload (what SIGHUP does)", () => {
    const before = run.logs.events("geo.database_loaded").filter((l) => l.why === "reload").length;
    run.server.auth.reloadResolved(run.server.auth.config);
    const reloaded = run.logs.events("geo.database_loaded").filter((l) => l.why === "reload");
    expect(reloaded.length - before, "the country and the ASN database").to.equal(2);
  });

  it("counts each refusal by rule and by the country or network that decided", async () => {
    const { body } = await run.server.auth.metrics.render();
    expect(body).to.match(/^va_rule_refusals_total\{step="geo",reason="country-denied",subject="RU"\} [1-9]\d*$/m);
    expect(body).to.match(/^va_rule_refusals_total\{step="geo",reason="asn-denied",subject="AS64500"\} 1$/m);
  });
});
