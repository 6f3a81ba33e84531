import { expect } from "chai";
import ipaddr from "ipaddr.js";
import { isLoopback, parseIpAddress, parseNmsSessionAddress } from "../../plugin/src/net/ip-address.js";

describe("ip-address", () => {
  it("parses IPv4", () => {
    expect(parseIpAddress("192.168.1.10")).to.deep.equal({ family: 4, value: 0xc0a8010a, text: "192.168.1.10" });
  });

  it("rejects malformed IPv4", () => {
    for (const bad of ["256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.-4", "", "a.b.c.d", "1.2.3.4 5"]) {
      expect(parseIpAddress(bad), bad).to.equal(null);
    }
  });

  it("the dotted-quad fast path gives what ipaddr.js gives, for edge octets and near misses", () => {
    const reference = (text: string) => {
      if (!ipaddr.IPv4.isValidFourPartDecimal(text)) return null;
      const [a = 0, b = 0, c = 0, d = 0] = ipaddr.IPv4.parse(text).octets;
      return { family: 4, value: ((a << 24) | (b << 16) | (c << 8) | d) >>> 0, text: ipaddr.IPv4.parse(text).toString() };
    };
    const octets = ["0", "1", "9", "10", "99", "100", "199", "249", "255", "256", "300", "999", "00", "01", "001", "1000"];
    for (const o of octets) {
      for (const text of [`${o}.0.0.1`, `127.${o}.0.1`, `10.0.${o}.1`, `192.168.1.${o}`, `${o}.${o}.${o}.${o}`]) {
        expect(parseIpAddress(text), text).to.deep.equal(reference(text));
      }
    }
    for (const text of ["1.2.3.4\n", " 1.2.3.4", "1.2.3.4 ", "1..2.3", "1.2.3.4.", "+1.2.3.4", "1.2.3.0x4", "１.2.3.4"]) {
      expect(parseIpAddress(text), JSON.stringify(text)).to.equal(null);
    }
  });

  it("parses IPv6 in every short form and prints RFC 5952 text", () => {
    expect(parseIpAddress("::1")?.text).to.equal("::1");
    expect(parseIpAddress("2001:DB8:0:0:0:0:0:1")?.text).to.equal("2001:db8::1");
    expect(parseIpAddress("2001:db8::")?.text).to.equal("2001:db8::");
    expect(parseIpAddress("::")?.text).to.equal("::");
    expect(parseIpAddress("[2001:db8::5]")?.text).to.equal("2001:db8::5");
    expect(parseIpAddress("fe80::1%eth0")?.text).to.equal("fe80::1");
    expect(parseIpAddress("2001:db8:0:1:0:0:1:0")?.text).to.equal("2001:db8:0:1::1:0");
  });

  it("rejects malformed IPv6", () => {
    for (const bad of ["1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "::g", ":::", "1:2:3:4:5:6:7::8"]) {
      expect(parseIpAddress(bad), bad).to.equal(null);
    }
  });

  it("unmaps IPv4-mapped IPv6 to IPv4, in both notations", () => {
    expect(parseIpAddress("::ffff:10.0.0.1")).to.deep.equal(parseIpAddress("10.0.0.1"));
    expect(parseIpAddress("::FFFF:a00:1")).to.deep.equal(parseIpAddress("10.0.0.1"));
    expect(parseIpAddress("::ffff:300.0.0.1")).to.equal(null);
  });

  it("keeps other embedded-IPv4 forms IPv6", () => {
    expect(parseIpAddress("64:ff9b::10.0.0.1")?.text).to.equal("64:ff9b::a00:1");
  });

  it("parses NMS's unbracketed addr:port session strings", () => {
    expect(parseNmsSessionAddress("127.0.0.1:5000")?.text).to.equal("127.0.0.1");
    expect(parseNmsSessionAddress("::ffff:127.0.0.1:38222")?.text).to.equal("127.0.0.1");
    expect(parseNmsSessionAddress("::1:41954")?.text).to.equal("::1");
    expect(parseNmsSessionAddress("2001:db8::7:41954")?.text).to.equal("2001:db8::7");
    expect(parseNmsSessionAddress("undefined:undefined")).to.equal(null);
    expect(parseNmsSessionAddress("")).to.equal(null);
  });

  it("knows loopback", () => {
    expect(isLoopback(parseIpAddress("127.5.0.1")!)).to.equal(true);
    expect(isLoopback(parseIpAddress("::1")!)).to.equal(true);
    expect(isLoopback(parseIpAddress("::ffff:127.0.0.1")!)).to.equal(true);
    expect(isLoopback(parseIpAddress("10.0.0.1")!)).to.equal(false);
    expect(isLoopback(parseIpAddress("::2")!)).to.equal(false);
  });
});
