import { expect } from "chai";
import { createOriginAuthorizer } from "../../plugin/src/origin/origin-authorizer.js";
import { HostPatterns } from "../../plugin/src/origin/host-pattern.js";
import { pageHostOf } from "../../plugin/src/gate/http-request-fields.js";
import { ConfigError, parseConfig, pluginConfigSchema, type AuthRequest, type PluginConfigInput } from "../../plugin/src/index.js";
import { authRequest } from "../helpers/auth-requests.js";

const withPage = (pageHost: string | undefined): AuthRequest => ({ ...authRequest(), ...(pageHost === undefined ? {} : { pageHost }) });

describe("origin lock", () => {
  describe("host patterns", () => {
    const patterns = new HostPatterns(["example.com", "*.tv.example"]);
    it("matches an exact name only as itself", () => {
      expect(patterns.matches("example.com")).to.equal(true);
      expect(patterns.matches("www.example.com")).to.equal(false);
      expect(patterns.matches("badexample.com")).to.equal(false);
      expect(patterns.matches("example.com.evil.net")).to.equal(false);
    });
    it("matches a wildcard's subdomains at any depth, not the domain itself", () => {
      expect(patterns.matches("a.tv.example")).to.equal(true);
      expect(patterns.matches("a.b.tv.example")).to.equal(true);
      expect(patterns.matches("tv.example")).to.equal(false);
      expect(patterns.matches("atv.example")).to.equal(false);
    });
  });

  describe("page host of an Origin, Referer or pageUrl", () => {
    it("is the URL's host name in lower case without the port", () => {
      expect(pageHostOf("https://Player.Example.com:8443")).to.equal("player.example.com");
      expect(pageHostOf("https://a.tv.example/watch?v=1#x")).to.equal("a.tv.example");
    });
    it("is empty for a value naming no http(s) host", () => {
      for (const value of ["null", "", "file:///tmp/x.html", "javascript:alert(1)", "not a url", 42])
        expect(pageHostOf(value)).to.equal("");
    });
  });

  describe("step", () => {
    const strict = createOriginAuthorizer({ allow: ["example.com", "*.tv.example"], allowMissing: false });
    const lenient = createOriginAuthorizer({ allow: ["example.com"], allowMissing: true });
    it("passes an allowed page on to the credential steps (it never allows by itself)", () => {
      expect(strict.decide(withPage("example.com"))).to.deep.equal({ verdict: "pass" });
      expect(strict.decide(withPage("live.tv.example"))).to.deep.equal({ verdict: "pass" });
    });
    it("refuses a foreign page, and a page with no host, as origin-not-allowed", () => {
      expect(strict.decide(withPage("evil.example"))).to.include({ verdict: "deny", code: "origin-not-allowed" });
      expect(strict.decide(withPage(""))).to.include({ verdict: "deny", code: "origin-not-allowed" });
      expect(lenient.decide(withPage("evil.example"))).to.include({ verdict: "deny", code: "origin-not-allowed" });
    });
    it("lets allowMissing decide a request that names no page", () => {
      expect(strict.decide(withPage(undefined))).to.include({ verdict: "deny", code: "origin-not-allowed" });
      expect(lenient.decide(withPage(undefined))).to.deep.equal({ verdict: "pass" });
    });
  });

  describe("configuration", () => {
    it("is off by default and the chain has no origin step", () => {
      expect(parseConfig(pluginConfigSchema, {}).auth.originLock).to.deep.equal({ allow: [], allowMissing: true });
    });
    it("refuses a pattern that is not a host name or a subdomain wildcard, naming the key", () => {
      try {
        parseConfig(pluginConfigSchema, {
          auth: { originLock: { allow: ["example.com", "https://x.com", "*example.com", "a.*.com"] } },
        } as PluginConfigInput);
        expect.fail("accepted");
      } catch (error) {
        expect(error).to.be.instanceOf(ConfigError);
        expect((error as ConfigError).issues.map((i) => i.path)).to.deep.equal([
          "auth.originLock.allow[1]",
          "auth.originLock.allow[2]",
          "auth.originLock.allow[3]",
        ]);
      }
    });
  });
});
