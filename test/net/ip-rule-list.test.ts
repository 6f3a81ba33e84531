import { expect } from "chai";
import { parseIpAddress } from "../../plugin/src/net/ip-address.js";
import { parseIpRange, type IpRange } from "../../plugin/src/net/ip-range.js";
import { IpRuleList } from "../../plugin/src/net/ip-rule-list.js";
import { resolveClientAddress } from "../../plugin/src/net/client-address.js";

function list(...texts: string[]): IpRuleList {
  return new IpRuleList(texts.map((t) => parseIpRange(t) as IpRange));
}
const ip = (t: string) => parseIpAddress(t)!;

describe("ip-range and ip-rule-list", () => {
  it("rejects bad ranges with a reason", () => {
    expect(parseIpRange("10.0.0.300/8")).to.equal("is not an IP address or CIDR");
    expect(parseIpRange("10.0.0.0/33")).to.equal("has a prefix length outside 0..32");
    expect(parseIpRange("::/129")).to.equal("has a prefix length outside 0..128");
    expect(parseIpRange("10.0.0.0/x")).to.equal("has a prefix length that is not a number");
    expect(parseIpRange("1.2.3.4/8/8")).to.equal("is not an IP address or CIDR (more than one '/')");
  });

  it("matches IPv4 addresses and CIDRs, most specific first", () => {
    const rules = list("10.0.0.0/8", "10.1.2.0/24", "192.168.1.7");
    expect(rules.match(ip("10.1.2.3"))?.text).to.equal("10.1.2.0/24");
    expect(rules.match(ip("10.200.0.1"))?.text).to.equal("10.0.0.0/8");
    expect(rules.match(ip("192.168.1.7"))?.text).to.equal("192.168.1.7");
    expect(rules.match(ip("192.168.1.8"))).to.equal(undefined);
    expect(rules.match(ip("11.0.0.0"))).to.equal(undefined);
  });

  it("handles /0 and /32 edges", () => {
    expect(list("0.0.0.0/0").match(ip("255.255.255.255"))?.text).to.equal("0.0.0.0/0");
    expect(list("255.255.255.255/32").match(ip("255.255.255.255"))).to.not.equal(undefined);
    expect(list("::/0").match(ip("1.2.3.4"))).to.equal(undefined);
  });

  it("matches IPv6 addresses and CIDRs", () => {
    const rules = list("2001:db8::/32", "::1");
    expect(rules.match(ip("2001:db8:ffff::1"))?.text).to.equal("2001:db8::/32");
    expect(rules.match(ip("2001:db9::1"))).to.equal(undefined);
    expect(rules.match(ip("::1"))?.text).to.equal("::1");
  });

  it("matches an IPv4-mapped viewer against IPv4 rules, and mapped rules against IPv4 viewers", () => {
    expect(list("127.0.0.0/8").match(ip("::ffff:127.0.0.1"))?.text).to.equal("127.0.0.0/8");
    expect(list("::ffff:10.0.0.0/104").match(ip("10.9.9.9"))?.text).to.equal("::ffff:10.0.0.0/104");
  });
});

describe("client-address (X-Forwarded-For)", () => {
  const proxies = list("10.0.0.1", "10.0.0.2");

  it("ignores X-Forwarded-For from a peer that is not a configured proxy", () => {
    expect(resolveClientAddress(ip("203.0.113.9"), "1.1.1.1", proxies)?.text).to.equal("203.0.113.9");
    expect(resolveClientAddress(ip("203.0.113.9"), "1.1.1.1", list())?.text).to.equal("203.0.113.9");
  });

  it("takes the right-most untrusted hop behind configured proxies", () => {
    expect(resolveClientAddress(ip("10.0.0.1"), "6.6.6.6, 198.51.100.4, 10.0.0.2", proxies)?.text).to.equal("198.51.100.4");
    expect(resolveClientAddress(ip("10.0.0.1"), ["198.51.100.4", "::ffff:10.0.0.2"], proxies)?.text).to.equal("198.51.100.4");
    expect(resolveClientAddress(ip("10.0.0.1"), undefined, proxies)?.text).to.equal("10.0.0.1");
  });

  it("gives null for a garbage hop from a proxy (the deny list then denies)", () => {
    expect(resolveClientAddress(ip("10.0.0.1"), "not-an-ip", proxies)).to.equal(null);
  });
});
