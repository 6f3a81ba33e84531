import { expect } from "chai";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import { pluginConfigSchema, type PluginConfig } from "../../plugin/src/plugin-config-schema.js";
import { parseIpAddress } from "../../plugin/src/net/ip-address.js";
import { parseIpRange, rangesOverlap, type IpRange } from "../../plugin/src/net/ip-range.js";
import { IpRuleList } from "../../plugin/src/net/ip-rule-list.js";
import { resolvePublisherAddress } from "../../plugin/src/net/client-address.js";
import { trustedProxiesAllowedToPublish } from "../../plugin/src/publish/trusted-proxy-risk.js";

const range = (text: string) => parseIpRange(text) as IpRange;

describe("publisher address behind trusted proxies (no server)", () => {
  const proxies = new IpRuleList([range("127.0.0.1/32")]);
  const resolve = (peer: string, xff: string | undefined) => resolvePublisherAddress(parseIpAddress(peer), xff, proxies)?.text ?? null;

  it("takes the address a trusted proxy reports, none when it reports none, and the socket's from anyone else", () => {
    expect(resolve("127.0.0.1", "203.0.113.7")).to.equal("203.0.113.7");
    expect(resolve("127.0.0.1", "198.51.100.1, 203.0.113.7")).to.equal("203.0.113.7");
    // A trusted proxy that says nothing: unknown, never the proxy's own (loopback) address.
    expect(resolve("127.0.0.1", undefined)).to.equal(null);
    expect(resolve("127.0.0.1", " ")).to.equal(null);
    // Not a proxy: its header is just a header it chose.
    expect(resolve("192.0.2.5", "127.0.0.1")).to.equal("192.0.2.5");
    expect(resolvePublisherAddress(parseIpAddress("127.0.0.1"), undefined, new IpRuleList([]))?.text).to.equal("127.0.0.1");
  });

  it("finds trusted proxies that publish.allowIps also allows", () => {
    expect(rangesOverlap(range("127.0.0.1/32"), range("127.0.0.0/8"))).to.equal(true);
    expect(rangesOverlap(range("10.0.0.0/8"), range("10.1.2.3"))).to.equal(true);
    expect(rangesOverlap(range("10.0.0.0/8"), range("11.0.0.0/8"))).to.equal(false);
    expect(rangesOverlap(range("0.0.0.0/0"), range("192.0.2.1"))).to.equal(true);
    expect(rangesOverlap(range("::1"), range("127.0.0.1"))).to.equal(false);
    expect(rangesOverlap(range("2001:db8::/32"), range("2001:db8:1::/48"))).to.equal(true);
    expect(rangesOverlap(range("2001:db8::/32"), range("2001:db9::/32"))).to.equal(false);
    const config = (trustedProxies: string[], allowIps?: string[]) =>
      parseConfig(pluginConfigSchema, { auth: { trustedProxies }, publish: allowIps === undefined ? {} : { allowIps } }) as PluginConfig;
    expect(trustedProxiesAllowedToPublish(config(["127.0.0.1"]))).to.deep.equal([{ proxy: "127.0.0.1", allowIps: "127.0.0.1/32" }]);
    expect(trustedProxiesAllowedToPublish(config(["10.0.0.0/8"]))).to.deep.equal([]);
    expect(trustedProxiesAllowedToPublish(config(["127.0.0.1"], ["198.51.100.0/24"]))).to.deep.equal([]);
  });
});
