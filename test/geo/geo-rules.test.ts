import { expect } from "chai";
import { configIssuesOf } from "../helpers/config-issues.js";
import { copyFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createGeoAuthorizer, GEO_NOT_READY_REASON } from "../../plugin/src/geo/geo-authorizer.js";
import { GeoDatabases } from "../../plugin/src/geo/geo-databases.js";
import {
  ConfigError,
  parseConfig,
  pluginConfigSchema,
  type Authorizer,
  type PluginConfigInput,
  type StepVerdict,
} from "../../plugin/src/index.js";
import { authRequest } from "../helpers/auth-requests.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";
import { writeMmdb } from "../helpers/mmdb-writer.js";
import { waitUntil } from "../helpers/wait-for.js";

const COUNTRY_DB = "node_modules/@ip-location-db/geolite2-country-mmdb/geolite2-country.mmdb";
const ASN_A = { autonomous_system_number: 64500, autonomous_system_organization: "Test Net A" };
const ASN_B = { autonomous_system_number: 64501, autonomous_system_organization: "Test Net B" };

describe("country and network rules (auth.geo)", () => {
  const logs = createCapturingLogger();
  const dir = mkdtempSync(join(tmpdir(), "va-geo-"));
  const asnDb = join(dir, "asn.mmdb");
  /** Public addresses and their countries as the shipped database says (read in `before`, not assumed). */
  const countryOf: Record<string, string | undefined> = {};
  const started: Authorizer[] = [];

  before(async () => {
    writeFileSync(asnDb, writeMmdb([{ cidr: "198.51.100.0/24", record: ASN_A }]));
    const probe = new GeoDatabases({ countryDatabase: COUNTRY_DB, asnDatabase: null }, logs.logger);
    await probe.open();
    for (const ip of ["8.8.8.8", "81.2.69.142", "77.88.8.8", "10.0.0.1"]) countryOf[ip] = probe.lookup(ip).country;
    probe.close();
    expect(countryOf["8.8.8.8"]).to.equal("US");
    expect(countryOf["81.2.69.142"]).to.equal("GB");
    expect(countryOf["77.88.8.8"]).to.equal("RU");
    expect(countryOf["10.0.0.1"], "a private address has no country").to.equal(undefined);
  });
  after(async () => {
    await Promise.all(started.map((step) => step.close?.()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function step(geo: NonNullable<PluginConfigInput["auth"]>["geo"]): Promise<Authorizer> {
    const config = parseConfig(pluginConfigSchema, { auth: { geo } });
    const built = createGeoAuthorizer(config.auth.geo, logs.logger);
    started.push(built);
    await built.start?.();
    return built;
  }
  const from = (ip: string) => authRequest({ ip });

  it("refuses a denied country, naming it; passes the others (the rules never allow by themselves)", async () => {
    const geo = await step({ countryDatabase: COUNTRY_DB, denyCountries: ["RU"] });
    expect(geo.decide(from("77.88.8.8"))).to.deep.include({ verdict: "deny", code: "country-denied", subject: "RU" });
    expect(geo.decide(from("8.8.8.8"))).to.deep.equal({ verdict: "pass" });
    expect(geo.decide(from("10.0.0.1")), "no country, no allow list: passes").to.deep.equal({ verdict: "pass" });
  });

  it("with allowCountries, refuses other countries and addresses with no country", async () => {
    const geo = await step({ countryDatabase: COUNTRY_DB, allowCountries: ["GB", "US"] });
    expect(geo.decide(from("81.2.69.142"))).to.deep.equal({ verdict: "pass" });
    expect(geo.decide(from("2001:4860:4860::8888")), "IPv6 too").to.deep.equal({ verdict: "pass" });
    expect(geo.decide(from("77.88.8.8"))).to.deep.include({ code: "country-not-allowed", subject: "RU" });
    expect(geo.decide(from("10.0.0.1"))).to.deep.include({ code: "country-not-allowed", subject: "unknown" });
  });

  it("refuses a denied network by its ASN", async () => {
    const geo = await step({ asnDatabase: asnDb, denyAsns: [64500] });
    expect(geo.decide(from("198.51.100.7"))).to.deep.include({ verdict: "deny", code: "asn-denied", subject: "AS64500" });
    expect(geo.decide(from("8.8.8.8"))).to.deep.equal({ verdict: "pass" });
    expect(geo.decide(from("2001:db8::1")), "IPv6 against an IPv4-only database: not found").to.deep.equal({ verdict: "pass" });
  });

  it("refuses every viewer before its databases are read (never fails open)", () => {
    const config = parseConfig(pluginConfigSchema, { auth: { geo: { countryDatabase: COUNTRY_DB, denyCountries: ["RU"] } } });
    expect(createGeoAuthorizer(config.auth.geo, logs.logger).decide(from("8.8.8.8"))).to.deep.include({
      verdict: "deny",
      reason: GEO_NOT_READY_REASON,
    });
  });

  it("reads a database again when its file is replaced, and on reload; a broken file keeps the previous copy", async () => {
    const file = join(dir, "changing-asn.mmdb");
    writeFileSync(file, writeMmdb([{ cidr: "198.51.100.0/24", record: ASN_A }]));
    const geo = await step({ asnDatabase: file, denyAsns: [64501] });
    expect(geo.decide(from("198.51.100.7"))).to.deep.equal({ verdict: "pass" });
    // An update written beside and renamed over the file, as a database updater does.
    writeFileSync(`${file}.new`, writeMmdb([{ cidr: "198.51.100.0/24", record: ASN_B }]));
    renameSync(`${file}.new`, file);
    await waitUntil("the changed database read", () => (geo.decide(from("198.51.100.7")) as StepVerdict).verdict === "deny", 10000, 50);
    expect(geo.decide(from("198.51.100.7"))).to.deep.include({ code: "asn-denied", subject: "AS64501" });

    writeFileSync(file, "not a database");
    geo.reload!();
    expect(geo.decide(from("198.51.100.7")), "the previous copy stays in force").to.deep.include({ code: "asn-denied" });
    expect(logs.events("geo.database_unreadable").length).to.be.greaterThan(0);
    copyFileSync(asnDb, file);
    geo.reload!();
    expect(geo.decide(from("198.51.100.7"))).to.deep.equal({ verdict: "pass" });
  });

  describe("configuration", () => {
    const issuesOf = (geo: unknown): string[] => configIssuesOf({ auth: { geo } } as PluginConfigInput);
    it("is off by default", () => {
      expect(parseConfig(pluginConfigSchema, {}).auth.geo).to.deep.equal({
        countryDatabase: null,
        asnDatabase: null,
        allowCountries: [],
        denyCountries: [],
        denyAsns: [],
      });
    });
    it("refuses a missing database file, lists without their database and malformed codes, naming each key", () => {
      expect(issuesOf({ countryDatabase: join(dir, "missing.mmdb") })).to.deep.equal(["auth.geo.countryDatabase: is not a readable file"]);
      expect(issuesOf({ denyCountries: ["RU"], denyAsns: [1] })).to.deep.equal([
        "auth.geo.countryDatabase: is needed by allowCountries/denyCountries",
        "auth.geo.asnDatabase: is needed by denyAsns",
      ]);
      expect(issuesOf({ countryDatabase: COUNTRY_DB, allowCountries: ["us"], denyAsns: [0] })[0]).to.match(
        /^auth\.geo\.allowCountries\[0\]: must be a two-letter/,
      );
    });
    it("refuses a file that is not a MaxMind database when the step starts, naming the key", async () => {
      const bogus = join(dir, "bogus.mmdb");
      writeFileSync(bogus, "plain text");
      const databases = new GeoDatabases({ countryDatabase: bogus, asnDatabase: null }, logs.logger);
      try {
        await databases.open();
        expect.fail("opened");
      } catch (error) {
        expect(error).to.be.instanceOf(ConfigError);
        expect((error as ConfigError).issues[0]!.path).to.equal("auth.geo.countryDatabase");
      }
    });
  });
});
