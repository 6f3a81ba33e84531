// Decision time of the deny/allow list steps with 1,000 and 100,000 CIDRs, against the same step
// with a one-rule list (the baseline, measured in the same run).
import type { AuthRequest } from "../plugin/src/index.js";
import {
  AuthChain,
  createIpDenyAuthorizer,
  createIpAllowAuthorizer,
  parseIpAddress,
  parseIpRange,
  type IpRange,
  IpRuleList,
  createLogger,
} from "../plugin/src/server-kit.js";
import { report, round, timeEach } from "./bench-stats.js";

function randomRanges(count: number): IpRange[] {
  const out: IpRange[] = [];
  for (let i = 0; i < count; i++) {
    const v6 = i % 4 === 0;
    const text = v6
      ? `2001:db8:${(i % 65536).toString(16)}:${((i * 7) % 65536).toString(16)}::/${48 + (i % 17)}`
      : `${((i * 37) % 223) + 1}.${(i * 13) % 256}.${(i * 101) % 256}.0/${16 + (i % 17)}`;
    out.push(parseIpRange(text) as IpRange);
  }
  return out;
}

function requestFor(ip: string, i: number): AuthRequest {
  return {
    action: "play",
    sessionId: `s${i}`,
    protocol: "http-flv",
    ip,
    address: parseIpAddress(ip),
    app: "live",
    channel: "test",
    path: "/live/test.flv",
    query: "",
    params: new URLSearchParams(),
    userAgent: "",
    host: "",
    origin: "",
    purpose: "new",
    requestNumber: 1,
  };
}

const addresses = Array.from({ length: 4096 }, (_, i) =>
  i % 3 === 0
    ? `2001:db8:${(i % 65536).toString(16)}::${i.toString(16)}`
    : `${((i * 53) % 223) + 1}.${i % 256}.${(i * 7) % 256}.${i % 250}`,
);
const requests = addresses.map(requestFor);
const log = createLogger("silent");
const iterations = 100_000;

async function measure(ruleCount: number) {
  const rules = new IpRuleList(randomRanges(ruleCount));
  const chain = new AuthChain([createIpDenyAuthorizer(() => rules), createIpAllowAuthorizer(() => rules)], "deny", log);
  return timeEach(iterations, (i) => chain.decide(requests[i % requests.length]!));
}

const baseline = await measure(1);
report("ip lists, 1 CIDR (baseline)", { ...baseline });
for (const count of [1_000, 100_000]) {
  const result = await measure(count);
  report(`ip lists, ${count.toLocaleString("en")} CIDRs`, { ...result, p99VsBaseline: round(result.p99Us / baseline.p99Us) });
}
