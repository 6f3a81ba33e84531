import { expect } from "chai";
import { parseIpAddress } from "../../plugin/src/net/ip-address.js";
import { parseIpRange, prefixKey, rangesOverlap, type IpRange } from "../../plugin/src/net/ip-range.js";

const range = (text: string) => parseIpRange(text) as IpRange;

describe("ip-range: addresses and CIDR blocks", () => {
  describe("parseIpRange reads", () => {
    const cases: [string, { family: 4 | 6; prefixLength: number; text: string; key: number | bigint }][] = [
      ["10.0.0.0/8", { family: 4, prefixLength: 8, text: "10.0.0.0/8", key: 10 }],
      ["192.168.1.7", { family: 4, prefixLength: 32, text: "192.168.1.7", key: 0xc0a80107 }],
      ["0.0.0.0/0", { family: 4, prefixLength: 0, text: "0.0.0.0/0", key: 0 }],
      ["  172.16.0.0/12 ", { family: 4, prefixLength: 12, text: "172.16.0.0/12", key: 0xac1 }],
      // Host bits below the prefix are ignored: 10.1.2.3/8 is the block 10.0.0.0/8.
      ["10.1.2.3/8", { family: 4, prefixLength: 8, text: "10.1.2.3/8", key: 10 }],
      ["2001:db8::/32", { family: 6, prefixLength: 32, text: "2001:db8::/32", key: 0x20010db8n }],
      ["::1", { family: 6, prefixLength: 128, text: "::1", key: 1n }],
      ["::/0", { family: 6, prefixLength: 0, text: "::/0", key: 0n }],
      ["[2001:db8::1]", { family: 6, prefixLength: 128, text: "[2001:db8::1]", key: 0x20010db8000000000000000000000001n }],
      // IPv4-mapped blocks become the IPv4 block they stand for (prefix minus 96).
      ["::ffff:10.0.0.0/104", { family: 4, prefixLength: 8, text: "::ffff:10.0.0.0/104", key: 10 }],
      ["::ffff:192.0.2.1", { family: 4, prefixLength: 32, text: "::ffff:192.0.2.1", key: 0xc0000201 }],
      ["::ffff:0.0.0.0/96", { family: 4, prefixLength: 0, text: "::ffff:0.0.0.0/96", key: 0 }],
    ];
    for (const [text, expected] of cases) {
      it(JSON.stringify(text), () => {
        expect(parseIpRange(text)).to.deep.equal(expected);
      });
    }
  });

  describe("parseIpRange refuses, with the reason", () => {
    const cases: [string, string][] = [
      ["", "is not an IP address or CIDR"],
      ["example.com", "is not an IP address or CIDR"],
      ["10.0.0", "is not an IP address or CIDR"],
      ["010.0.0.1", "is not an IP address or CIDR"],
      ["10.0.0.256", "is not an IP address or CIDR"],
      ["10.0.0.0/8/8", "is not an IP address or CIDR (more than one '/')"],
      ["10.0.0.0/", "has a prefix length that is not a number"],
      ["10.0.0.0/-1", "has a prefix length that is not a number"],
      ["10.0.0.0/8.0", "has a prefix length that is not a number"],
      ["10.0.0.0/0008", "has a prefix length that is not a number"],
      ["10.0.0.0/33", "has a prefix length outside 0..32"],
      ["2001:db8::/129", "has a prefix length outside 0..128"],
      ["::ffff:10.0.0.0/95", "has a prefix length outside 0..128"],
      ["::ffff:10.0.0.0/129", "has a prefix length outside 0..128"],
    ];
    for (const [text, reason] of cases) {
      it(`${JSON.stringify(text)}: ${reason}`, () => {
        expect(parseIpRange(text)).to.equal(reason);
      });
    }
  });

  describe("prefixKey", () => {
    const cases: [string, number, number | bigint][] = [
      ["10.1.2.3", 0, 0],
      ["10.1.2.3", 8, 10],
      ["10.1.2.3", 24, 0x0a0102],
      ["255.255.255.255", 32, 0xffffffff],
      ["255.255.255.255", 1, 1],
      ["2001:db8::1", 0, 0n],
      ["2001:db8::1", 16, 0x2001n],
      ["2001:db8::1", 128, 0x20010db8000000000000000000000001n],
    ];
    for (const [address, bits, key] of cases) {
      it(`${address} /${bits}`, () => {
        expect(prefixKey(parseIpAddress(address)!, bits)).to.equal(key);
      });
    }
  });

  describe("rangesOverlap", () => {
    const cases: [string, string, boolean][] = [
      ["10.0.0.0/8", "10.1.0.0/16", true],
      ["10.1.0.0/16", "10.0.0.0/8", true],
      ["10.0.0.0/8", "11.0.0.0/8", false],
      ["10.1.2.3", "10.1.2.3/32", true],
      ["10.1.2.3", "10.1.2.4", false],
      ["0.0.0.0/0", "203.0.113.7", true],
      ["2001:db8::/32", "2001:db8:1::/48", true],
      ["2001:db8::/32", "2001:db9::/32", false],
      ["::/0", "::1", true],
      ["::ffff:10.0.0.0/104", "10.2.3.4", true],
      ["10.0.0.0/8", "::ffff:a00:0/104", true],
      ["0.0.0.0/0", "::/0", false],
    ];
    for (const [a, b, overlap] of cases) {
      it(`${a} and ${b}: ${overlap}`, () => {
        expect(rangesOverlap(range(a), range(b))).to.equal(overlap);
      });
    }
  });
});
