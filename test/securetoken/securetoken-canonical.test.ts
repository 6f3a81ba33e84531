import { expect } from "chai";
import { createSecureTokenAuthorizer, MALFORMED_LINK_REASON } from "../../plugin/src/securetoken/securetoken-authorizer.js";
import { BruteForceThrottle } from "../../plugin/src/brute-force/brute-force-throttle.js";
import { bruteForceSchema } from "../../plugin/src/brute-force/brute-force-schema.js";
import { pluginConfigSchema } from "../../plugin/src/plugin-config-schema.js";
import { securetokenSchema, type SecureTokenFormatName } from "../../plugin/src/securetoken/securetoken-schema.js";
import { SignedLinkError } from "../../plugin/src/core/errors.js";
import { PublishPolicy } from "../../plugin/src/publish/publish-policy.js";
import { SECURETOKEN_FORMAT_BY_NAME } from "../../plugin/src/securetoken/securetoken-formats.js";
import { makeSecureLink, parseConfig, type StepVerdict } from "../../plugin/src/index.js";
import { FuzzRandom } from "../fuzz/fuzz-random.js";
import { authRequest } from "../helpers/auth-requests.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { looseFieldsOf, variantsOf, type MadeLink } from "../helpers/signed-link-variants.js";

const SECRET = "property-secret";
const FORMATS: readonly SecureTokenFormatName[] = ["astra", "flussonic", "nms"];

function randomChannel(rnd: FuzzRandom): string {
  const letters = "abcdefghijklmnopqrstuvwxyz";
  let name = "";
  for (let i = rnd.int(1, 8); i > 0; i--) name += rnd.pick([...letters]);
  // Most names end in digits: those are the ones a moved digit can re-read.
  if (rnd.chance(0.7)) name += String(rnd.int(0, 999));
  return name;
}

function randomIp(rnd: FuzzRandom): string {
  if (rnd.chance(0.6)) return [rnd.int(1, 223), rnd.int(0, 255), rnd.int(0, 255), rnd.int(0, 255)].join(".");
  return `2001:db8:${rnd.int(0, 0xffff).toString(16)}::${rnd.int(0, 0xffff).toString(16)}`;
}

/** One random valid link, the clock it is valid at, and the settings it was made under. */
function randomCase(seed: number, index: number) {
  const rnd = FuzzRandom.forCase(seed, index);
  const format = rnd.pick(FORMATS);
  const bindIp = format !== "nms" && rnd.chance(0.5);
  const channel = randomChannel(rnd);
  // Astra hashes the path: an RTMP path ends in the channel (so a digit can move across it), HLS and FLV paths do not.
  const path =
    format === "astra"
      ? rnd.pick([`/live/${channel}`, `/live/${channel}`, `/live/${channel}.flv`, `/live/${channel}/index.m3u8`])
      : `/live/${channel}`;
  const ip = bindIp ? randomIp(rnd) : "";
  const lifetimeSec = rnd.int(1, 86400);
  const startSec = rnd.int(1_500_000_000, 2_500_000_000);
  const nowSec = startSec + rnd.int(0, lifetimeSec);
  const url = makeSecureLink({
    url: `http://h${path}`,
    secret: SECRET,
    lifetimeSec,
    nowMs: startSec * 1000,
    format,
    ...(bindIp ? { ip } : {}),
  });
  const value = new URL(url).searchParams.get(SECURETOKEN_FORMAT_BY_NAME[format].param)!;
  const made: MadeLink = { format, value, channel, path, ip };
  // A viewer of an unbound link may come from anywhere.
  const viewerIp = bindIp ? ip : randomIp(rnd);
  return { made, bindIp, nowSec, viewerIp };
}

describe("signed links: only the canonical spelling is accepted (seeded property)", function () {
  this.timeout(60_000);
  const SEED = 0x5eed1;
  const CASES = 1500;
  const clock = new ManualClock(0);

  it(`refuses every re-spelling and every digit moved across a hashed boundary, for ${CASES} random links of every format, new and re-check`, () => {
    const steps = new Map<string, ReturnType<typeof createSecureTokenAuthorizer>>();
    const stepOf = (format: SecureTokenFormatName, bindIp: boolean) => {
      const key = `${format}/${bindIp}`;
      if (!steps.has(key))
        steps.set(
          key,
          createSecureTokenAuthorizer(
            parseConfig(securetokenSchema, { format, secrets: [SECRET], bindIp, maxLifetimeSec: 86400 }),
            clock,
            undefined,
          ),
        );
      return steps.get(key)!;
    };
    let variantsChecked = 0;
    let shiftsChecked = 0;
    for (let i = 0; i < CASES; i++) {
      const { made, bindIp, nowSec, viewerIp } = randomCase(SEED, i);
      clock.set(nowSec * 1000);
      const step = stepOf(made.format, bindIp);
      const param = SECURETOKEN_FORMAT_BY_NAME[made.format].param;
      const ask = (query: string, purpose: "new" | "recheck", over: { channel?: string; path?: string; ip?: string } = {}) =>
        step.decide(
          authRequest({ query, purpose, channel: over.channel ?? made.channel, path: over.path ?? made.path, ip: over.ip ?? viewerIp }),
        ) as StepVerdict;
      const original = `${param}=${encodeURIComponent(made.value)}`;
      const context = `case ${i}: ${JSON.stringify(made)}`;
      expect(ask(original, "new").verdict, `${context}: the original`).to.equal("allow");
      expect(ask(original, "recheck").verdict, `${context}: the original, re-checked`).to.equal("allow");
      for (const variant of variantsOf(made)) {
        const fields = variant.sameHash ? looseFieldsOf(decodeURIComponent(variant.query.slice(param.length + 1))) : undefined;
        // The re-reading really hashes like the original: the property is about links an attacker can make.
        // (A moved "0" makes a leading zero, which the numeric digest cannot spell: that one is a re-spelling.)
        if (fields !== undefined && fields.canonicalDigits) {
          const subject = {
            path: variant.path ?? made.path,
            app: "live",
            channel: variant.channel ?? made.channel,
            ip: bindIp ? (variant.ip ?? made.ip) : "",
          };
          expect(
            SECURETOKEN_FORMAT_BY_NAME[made.format].digest(fields, subject, SECRET),
            `${context}: ${variant.what} keeps the hash`,
          ).to.equal(fields.hash);
          shiftsChecked++;
        }
        const over = {
          ...(variant.channel !== undefined ? { channel: variant.channel } : {}),
          ...(variant.path !== undefined ? { path: variant.path } : {}),
          ...(variant.ip !== undefined ? { ip: variant.ip } : {}),
        };
        for (const purpose of ["new", "recheck"] as const) {
          expect(ask(variant.query, purpose, over).verdict, `${context}: ${variant.what} (${purpose}) ${variant.query}`).to.equal("deny");
        }
        variantsChecked++;
      }
    }
    // Every format and both kinds of variant were exercised.
    expect(variantsChecked).to.be.greaterThan(CASES * 6);
    expect(shiftsChecked).to.be.greaterThan(CASES);
  });

  it(`refuses the same re-spellings and shifts of publish links, for ${CASES / 3} random links`, () => {
    let checked = 0;
    for (let i = 0; i < CASES / 3; i++) {
      const { made, bindIp, nowSec } = randomCase(SEED + 1, i);
      if (made.path !== `/live/${made.channel}`) continue; // publish links hash /<app>/<stream>
      clock.set(nowSec * 1000);
      const publish = parseConfig(pluginConfigSchema, {
        publish: { allowIps: [], securetoken: { format: made.format, secrets: [SECRET], bindIp, maxLifetimeSec: 86400 } },
      }).publish;
      const policy = new PublishPolicy(publish, clock);
      const ip = made.ip === "" ? "198.51.100.9" : made.ip;
      const attempt = (query: string, over: { channel?: string; ip?: string } = {}) =>
        policy.decide({
          app: "live",
          channel: over.channel ?? made.channel,
          ip: over.ip ?? ip,
          query: Object.fromEntries(new URLSearchParams(query)),
        });
      const param = SECURETOKEN_FORMAT_BY_NAME[made.format].param;
      expect(attempt(`${param}=${encodeURIComponent(made.value)}`), `case ${i}: the original`).to.include({ allow: true });
      for (const variant of variantsOf(made)) {
        const over = {
          ...(variant.channel !== undefined ? { channel: variant.channel } : {}),
          ...(variant.ip !== undefined ? { ip: variant.ip } : {}),
        };
        expect(attempt(variant.query, over), `case ${i} ${JSON.stringify(made)}: ${variant.what}`).to.include({ allow: false });
        checked++;
      }
    }
    expect(checked).to.be.greaterThan(CASES);
  });
});

describe("signed links: the reproductions, one by one", () => {
  const clock = new ManualClock(1_800_000_000_000);
  const step = (fields: Record<string, unknown>) =>
    createSecureTokenAuthorizer(parseConfig(securetokenSchema, { secrets: ["s"], ...fields }), clock, undefined);
  const decide = (s: ReturnType<typeof step>, query: string, fields: Parameters<typeof authRequest>[0] = {}) =>
    s.decide(authRequest({ query, ...fields })) as StepVerdict;
  const tokenOf = (link: string) => new URL(link).searchParams.get("token")!;

  it("expired → permanent: the last digit of start moved to the front of end is refused (it claimed to run until 3611)", () => {
    // Issued two hours ago (at a start not ending in 0, so the moved digit makes no leading zero).
    const issuedMs = clock.now() - 2 * 3600_000 + 7_000;
    const value = tokenOf(makeSecureLink({ url: "http://h/live/ch1.flv", ip: "127.0.0.1", secret: "s", nowMs: issuedMs, lifetimeSec: 60 }));
    const [hash, salt, end, start] = value.split("-") as [string, string, string, string];
    const forged = `${hash}-${salt}-${start.slice(-1)}${end}-${start.slice(0, -1)}`;
    // The same hash, and an end some 1,600 years ahead.
    const fields = { salt, endSec: Number(`${start.slice(-1)}${end}`), startSec: Number(start.slice(0, -1)) };
    expect(
      SECURETOKEN_FORMAT_BY_NAME.astra.digest(fields, { path: "/live/ch1.flv", app: "live", channel: "ch1", ip: "127.0.0.1" }, "s"),
    ).to.equal(hash);
    expect(new Date(fields.endSec * 1000).getUTCFullYear()).to.be.greaterThan(3000);
    const s = step({});
    expect(decide(s, `token=${value}`, { channel: "ch1" })).to.include({ verdict: "deny" });
    expect(decide(s, `token=${forged}`, { channel: "ch1" })).to.deep.equal({ verdict: "deny", reason: MALFORMED_LINK_REASON });
  });

  it("another channel (bindIp false): a ch1 link is refused for ch11", () => {
    const value = tokenOf(
      makeSecureLink({ url: "http://h/live/ch1", secret: "s", nowMs: clock.now(), lifetimeSec: 60, format: "flussonic" }),
    );
    const [hash, salt, end, start] = value.split("-") as [string, string, string, string];
    const s = step({ format: "flussonic", bindIp: false });
    expect(decide(s, `token=${value}`, { channel: "ch1" })).to.include({ verdict: "allow" });
    expect(decide(s, `token=${hash}-${salt}-${end}-${start.slice(1)}`, { channel: `ch1${start[0]}` })).to.include({
      verdict: "deny",
      reason: MALFORMED_LINK_REASON,
    });
  });

  it("another address (bindIp true): a link bound to 127.0.0.1 is refused from 127.0.0.11", () => {
    const value = tokenOf(
      makeSecureLink({ url: "http://h/live/ch1.flv", ip: "127.0.0.1", secret: "s", nowMs: clock.now(), lifetimeSec: 60 }),
    );
    const [hash, salt, end, start] = value.split("-") as [string, string, string, string];
    const s = step({});
    expect(start[0]).to.equal("1");
    expect(decide(s, `token=${value}`, { channel: "ch1", path: "/live/ch1.flv" })).to.include({ verdict: "allow" });
    expect(
      decide(s, `token=${hash}-${salt}-${end}-${start.slice(1)}`, { channel: "ch1", path: "/live/ch1.flv", ip: "127.0.0.11" }),
    ).to.include({ verdict: "deny", reason: MALFORMED_LINK_REASON });
  });

  it("counts a non-canonical link with the brute-force throttle, like a wrong hash, and bans after maxFailures", () => {
    const logs = createCapturingLogger();
    const throttle = new BruteForceThrottle(bruteForceSchema.parse({ maxFailures: 3 }), clock, logs.logger);
    const s = createSecureTokenAuthorizer(parseConfig(securetokenSchema, { secrets: ["s"] }), clock, throttle);
    const value = tokenOf(
      makeSecureLink({ url: "http://h/live/test.flv", ip: "203.0.113.5", secret: "s", nowMs: clock.now(), lifetimeSec: 60 }),
    );
    const upper = value.replace(/^[0-9a-f]{40}/, (h) => h.toUpperCase());
    const at = { ip: "203.0.113.5" };
    expect(decide(s, `token=${value}`, at)).to.include({ verdict: "allow" });
    for (let i = 0; i < 3; i++) expect(decide(s, `token=${upper}`, at)).to.include({ verdict: "deny" });
    // Banned now: even the genuine link is refused from this address.
    expect(decide(s, `token=${value}`, at)).to.include({ verdict: "deny" });
    expect(decide(s, `token=${value}`, at)).to.not.deep.include({ reason: MALFORMED_LINK_REASON });
  });

  it("nms: refuses a canonical sign whose exp lies further ahead than maxLifetimeSec (new viewers only)", () => {
    const s = step({ format: "nms", maxLifetimeSec: 3600 });
    const far = new URL(
      makeSecureLink({
        url: "rtmp://h/live/test",
        secret: "s",
        format: "nms",
        nowMs: clock.now(),
        lifetimeSec: 7200,
        maxLifetimeSec: 7200,
      }),
    ).search.slice(1);
    const near = new URL(
      makeSecureLink({
        url: "rtmp://h/live/test",
        secret: "s",
        format: "nms",
        nowMs: clock.now(),
        lifetimeSec: 3600,
        maxLifetimeSec: 3600,
      }),
    ).search.slice(1);
    expect(decide(s, near, { path: "/live/test" })).to.include({ verdict: "allow" });
    expect(decide(s, far, { path: "/live/test" })).to.include({ verdict: "deny" });
    expect(decide(s, far, { path: "/live/test", purpose: "recheck" })).to.include({ verdict: "allow" });
  });

  it("refuses a link whose end lies before its start, or whose lifetime is over maxLifetimeSec, on re-checks too", () => {
    const s = step({ maxLifetimeSec: 600 });
    const long = tokenOf(
      makeSecureLink({
        url: "http://h/live/test.flv",
        ip: "127.0.0.1",
        secret: "s",
        nowMs: clock.now(),
        lifetimeSec: 601,
        maxLifetimeSec: 601,
      }),
    );
    for (const purpose of ["new", "recheck"] as const)
      expect(decide(s, `token=${long}`, { purpose })).to.include({ verdict: "deny", reason: MALFORMED_LINK_REASON });
  });

  it("passes values that do not look like the format at all (a middleware token)", () => {
    const s = step({});
    for (const value of ["demo", "0123456789abcdef0123456789abcdef", "a-b-c-d", `${"a".repeat(40)}-salt-x-1`]) {
      expect(decide(s, `token=${encodeURIComponent(value)}`), value).to.deep.equal({ verdict: "pass" });
    }
  });

  it("makeSecureLink refuses a lifetime over maxLifetimeSec with a clear error, and makes only canonical links", () => {
    expect(() => makeSecureLink({ url: "http://h/live/test.flv", secret: "s", lifetimeSec: 86401 }))
      .to.throw(SignedLinkError, "lifetimeSec 86401 is over the maximum lifetime of 86400 s")
      .with.property("code", "VA_ERR_SIGNED_LINK_INPUT");
    expect(() => makeSecureLink({ url: "http://h/live/test.flv", secret: "s", lifetimeSec: 60, salt: "A5CD6C0" })).to.throw(
      SignedLinkError,
      "does not fit the astra format",
    );
    for (const format of FORMATS) {
      const link = makeSecureLink({ url: "http://h/live/test.flv", secret: "s", lifetimeSec: 86400, format, nowMs: 1_000_000 });
      const value = new URL(link).searchParams.get(SECURETOKEN_FORMAT_BY_NAME[format].param)!;
      expect(SECURETOKEN_FORMAT_BY_NAME[format].parse(value), `${format}: ${value}`).to.not.equal(null);
    }
  });
});

describe("signed links: recognising a viewer-chosen value costs time in proportion to its length", () => {
  // The loose patterns once took 0.3 s for 8 KB of "1-1-1-…" (and 1.2 s for 16 KB): every request with a
  // token paid it, once per format. A value over MAX_SIGNED_LINK_CHARS is no link, and shorter ones are cheap.
  const hostile = [
    (n: number) => "1-".repeat(n / 2),
    (n: number) => `a-b-${" ".repeat(n)}x`,
    (n: number) => `a-b${"-1".repeat(n / 2)}-x`,
    (n: number) => ` -${"1".repeat(n)}-`,
  ];

  it("reads 16 KB hostile values in well under a millisecond each, and a 256-character one in a few", () => {
    for (const make of hostile) {
      for (const format of ["astra", "flussonic", "nms"] as const) {
        const long = make(16_384);
        let started = performance.now();
        expect(SECURETOKEN_FORMAT_BY_NAME[format].identify(long), `${format}: a 16 KB value is no link`).to.equal(null);
        expect(performance.now() - started, `${format}: 16 KB`).to.be.below(20);
        const short = make(240);
        started = performance.now();
        SECURETOKEN_FORMAT_BY_NAME[format].identify(short);
        expect(performance.now() - started, `${format}: 240 characters`).to.be.below(20);
      }
    }
  });

  it("still recognises a padded re-spelling of a real link within the bound (refused as forged, counted)", () => {
    const padded = `${"e8bff06f373694dda657e8417fe76f6b54b69807".toUpperCase()}-a5cd6c00-000001669890000-  1669810000`;
    expect(SECURETOKEN_FORMAT_BY_NAME.astra.identify(padded)).to.equal("e8bff06f373694dda657e8417fe76f6b54b69807");
    expect(SECURETOKEN_FORMAT_BY_NAME.astra.parse(padded)).to.equal(null);
  });
});
