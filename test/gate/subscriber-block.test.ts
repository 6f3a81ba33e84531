import { expect } from "chai";
import { parseIpAddress } from "../../plugin/src/net/ip-address.js";
import { subscriberBlockOf } from "../../plugin/src/net/subscriber-block.js";

describe("subscriber blocks (what failures are counted under)", () => {
  const block = (text: string) => subscriberBlockOf(parseIpAddress(text), text);

  it("keeps IPv4 addresses, IPv4-mapped ones unmapped", () => {
    expect(block("203.0.113.7")).to.equal("203.0.113.7");
    expect(block("::ffff:203.0.113.7")).to.equal("203.0.113.7");
  });

  it("groups IPv6 addresses by their /64", () => {
    expect(block("2001:db8:1:2::1")).to.equal("2001:db8:1:2::/64");
    expect(block("2001:db8:1:2:ffff:ffff:ffff:ffff")).to.equal("2001:db8:1:2::/64");
    expect(block("2001:db8:1:3::1")).to.not.equal(block("2001:db8:1:2::1"));
    expect(block("::1")).to.equal("0:0:0:0::/64");
  });

  it("falls back to the text it was given when the address does not parse", () => {
    expect(block("not-an-ip")).to.equal("not-an-ip");
    expect(block("")).to.equal("");
  });
});
