import { expect } from "chai";
import { AddressRules, type AddressLists } from "../../plugin/src/net/address-rules.js";
import { parseIpAddress } from "../../plugin/src/net/ip-address.js";
import { parseIpRange, type IpRange } from "../../plugin/src/net/ip-range.js";

const ranges = (...texts: string[]) => texts.map((t) => parseIpRange(t) as IpRange);
const ip = (t: string) => parseIpAddress(t)!;
const lists = (deny: string[], allow: string[], trusted: string[]): AddressLists => ({
  denyIps: ranges(...deny),
  allowIps: ranges(...allow),
  trustedProxies: ranges(...trusted),
});

describe("AddressRules: the deny list, the allow list and the trusted proxies", () => {
  it("keeps each list apart", () => {
    const rules = new AddressRules(lists(["192.0.2.0/24"], ["198.51.100.0/24"], ["10.0.0.1"]));
    expect(rules.deny.match(ip("192.0.2.9"))?.text).to.equal("192.0.2.0/24");
    expect(rules.deny.match(ip("198.51.100.9"))).to.equal(undefined);
    expect(rules.allow.match(ip("198.51.100.9"))?.text).to.equal("198.51.100.0/24");
    expect(rules.allow.match(ip("192.0.2.9"))).to.equal(undefined);
    expect(rules.trustedProxies.match(ip("10.0.0.1"))?.text).to.equal("10.0.0.1");
    expect([rules.deny.size, rules.allow.size, rules.trustedProxies.size]).to.deep.equal([1, 1, 1]);
  });

  it("empty lists match nothing", () => {
    const rules = new AddressRules(lists([], [], []));
    expect([rules.deny.size, rules.allow.size, rules.trustedProxies.size]).to.deep.equal([0, 0, 0]);
    expect(rules.deny.match(ip("::1"))).to.equal(undefined);
  });

  it("replace puts every new list in force at once; a list taken before keeps its old rules", () => {
    const rules = new AddressRules(lists(["192.0.2.0/24"], ["0.0.0.0/0"], ["10.0.0.1"]));
    const before = rules.deny;
    rules.replace(lists(["2001:db8::/32"], [], ["10.0.0.2", "10.0.0.3"]));
    expect(rules.deny.match(ip("192.0.2.9"))).to.equal(undefined);
    expect(rules.deny.match(ip("2001:db8::5"))?.text).to.equal("2001:db8::/32");
    expect(rules.allow.size).to.equal(0);
    expect(rules.trustedProxies.match(ip("10.0.0.1"))).to.equal(undefined);
    expect(rules.trustedProxies.match(ip("10.0.0.3"))?.text).to.equal("10.0.0.3");
    expect(before.match(ip("192.0.2.9"))?.text).to.equal("192.0.2.0/24");
  });
});
