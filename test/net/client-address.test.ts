import { expect } from "chai";
import { resolveClientAddress, resolvePublisherAddress } from "../../plugin/src/net/client-address.js";
import { parseIpAddress } from "../../plugin/src/net/ip-address.js";
import { parseIpRange, type IpRange } from "../../plugin/src/net/ip-range.js";
import { IpRuleList } from "../../plugin/src/net/ip-rule-list.js";

const proxies = (...texts: string[]) => new IpRuleList(texts.map((t) => parseIpRange(t) as IpRange));
const PROXIES = proxies("10.0.0.0/8", "2001:db8:ffff::/48");
const NONE = proxies();
const text = (peer: string | null, xff: string | string[] | undefined, trusted = PROXIES, resolve = resolveClientAddress) =>
  resolve(peer === null ? null : parseIpAddress(peer), xff, trusted)?.text ?? null;

describe("client-address: the viewer's and the publisher's address", () => {
  describe("resolveClientAddress", () => {
    const cases: [string, string | null, string | string[] | undefined, IpRuleList, string | null][] = [
      ["no proxies configured: the peer, whatever the header says", "203.0.113.7", "198.51.100.1", NONE, "203.0.113.7"],
      ["a peer that is not a proxy: its header is ignored", "203.0.113.7", "198.51.100.1", PROXIES, "203.0.113.7"],
      ["a proxy reporting one hop", "10.0.0.1", "198.51.100.1", PROXIES, "198.51.100.1"],
      [
        "a proxy reporting a chain: the right-most untrusted hop",
        "10.0.0.1",
        "192.0.2.66, 198.51.100.1, 10.9.9.9",
        PROXIES,
        "198.51.100.1",
      ],
      ["a chain of trusted hops only: the left-most", "10.0.0.1", "10.1.1.1, 10.2.2.2", PROXIES, "10.1.1.1"],
      ["a header given as several lines", "10.0.0.1", ["192.0.2.66", "198.51.100.1"], PROXIES, "198.51.100.1"],
      ["a proxy with no header: the proxy itself", "10.0.0.1", undefined, PROXIES, "10.0.0.1"],
      ["a proxy with a blank header: the proxy itself", "10.0.0.1", "  ", PROXIES, "10.0.0.1"],
      ["a proxy reporting a garbage hop: unknown", "10.0.0.1", "not-an-address", PROXIES, null],
      ["a proxy reporting an IPv6 viewer", "10.0.0.1", "2001:DB8::7", PROXIES, "2001:db8::7"],
      ["a proxy reporting an IPv4-mapped viewer: its IPv4 address", "10.0.0.1", "::ffff:198.51.100.1", PROXIES, "198.51.100.1"],
      ["an IPv6 proxy", "2001:db8:ffff::1", "198.51.100.1", PROXIES, "198.51.100.1"],
      ["an IPv4-mapped peer that is a proxy", "::ffff:10.0.0.1", "198.51.100.1", PROXIES, "198.51.100.1"],
      ["no peer", null, "198.51.100.1", PROXIES, null],
    ];
    for (const [name, peer, xff, trusted, expected] of cases) {
      it(name, () => {
        expect(text(peer, xff, trusted)).to.equal(expected);
      });
    }
  });

  describe("resolvePublisherAddress", () => {
    const cases: [string, string | null, string | undefined, IpRuleList, string | null][] = [
      ["no proxies configured: the peer", "203.0.113.7", "198.51.100.1", NONE, "203.0.113.7"],
      ["a peer that is not a proxy: the peer", "127.0.0.1", "198.51.100.1", PROXIES, "127.0.0.1"],
      ["a proxy reporting the publisher", "10.0.0.1", "198.51.100.1", PROXIES, "198.51.100.1"],
      // Never the proxy's own address: behind a same-host proxy it would be loopback, which publish.allowIps allows.
      ["a proxy reporting nothing: unknown, not the proxy", "10.0.0.1", undefined, PROXIES, null],
      ["a proxy reporting a blank header: unknown", "10.0.0.1", "", PROXIES, null],
      ["a proxy reporting garbage: unknown", "10.0.0.1", "x", PROXIES, null],
    ];
    for (const [name, peer, xff, trusted, expected] of cases) {
      it(name, () => {
        expect(text(peer, xff, trusted, resolvePublisherAddress)).to.equal(expected);
      });
    }
  });
});
