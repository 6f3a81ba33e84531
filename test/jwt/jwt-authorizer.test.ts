import { expect } from "chai";
import { configIssuesOf } from "../helpers/config-issues.js";
import { generateKeyPair, exportJWK, SignJWT, type JWTPayload } from "jose";
import { BruteForceThrottle } from "../../plugin/src/brute-force/brute-force-throttle.js";
import { createJwtAuthorizer } from "../../plugin/src/jwt/jwt-authorizer.js";
import { parseConfig, pluginConfigSchema, type Authorizer, type PluginConfigInput, type StepVerdict } from "../../plugin/src/index.js";
import { authRequest } from "../helpers/auth-requests.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";
import { ManualClock } from "../helpers/manual-clock.js";

const NOW_SEC = Date.parse("2026-06-01T00:00:00Z") / 1000;
const SECRET = "a-jwt-secret-of-at-least-32-bytes!!";
const OLD_SECRET = "the-previous-jwt-secret-32-bytes-long";
const PACKAGES = { basic: ["test", "news"], all: ["*"] };

/** An HS token signed with `secret`, issued now, valid an hour, unless `claims` say otherwise. */
async function hsToken(claims: JWTPayload, options: { secret?: string; alg?: string } = {}): Promise<string> {
  return new SignJWT({ iat: NOW_SEC, exp: NOW_SEC + 3600, ...claims })
    .setProtectedHeader({ alg: options.alg ?? "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(options.secret ?? SECRET));
}

function b64(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

describe("JWT step", () => {
  const clock = new ManualClock(NOW_SEC * 1000);
  const logs = createCapturingLogger();

  function build(
    jwt: NonNullable<PluginConfigInput["auth"]>["jwt"],
    bruteForce = { maxFailures: 100 },
  ): { step: Authorizer; throttle: BruteForceThrottle } {
    const config = parseConfig(pluginConfigSchema, { auth: { packages: PACKAGES, jwt, bruteForce } });
    const throttle = new BruteForceThrottle(config.auth.bruteForce, clock, logs.logger);
    const step = createJwtAuthorizer(config.auth.jwt!, { clock, log: logs.logger, throttle, packages: () => config.auth.packages });
    return { step, throttle };
  }
  const { step } = build({ secrets: [OLD_SECRET, SECRET], issuer: "https://issuer.example", audience: "tv" });
  const decide = async (token: string, fields: Parameters<typeof authRequest>[0] = {}): Promise<StepVerdict> =>
    step.decide(authRequest({ query: `token=${token}`, ...fields }));
  const good = { sub: "alice", iss: "https://issuer.example", aud: "tv", channels: ["test"] };

  afterEach(() => clock.set(NOW_SEC * 1000));

  it("allows a valid HS256 token, naming the user, its session limit and exp + clockSkewSec as validUntilMs", async () => {
    const verdict = await decide(await hsToken({ ...good, max_sessions: 2 }));
    expect(verdict).to.deep.include({
      verdict: "allow",
      user: { name: "alice", userId: "alice", maxSessions: 2 },
      validUntilMs: (NOW_SEC + 3600 + 30) * 1000,
    });
  });

  it("accepts HS384 and HS512 and every configured secret (rotation)", async () => {
    expect((await decide(await hsToken(good, { alg: "HS384" }))).verdict).to.equal("allow");
    expect((await decide(await hsToken(good, { alg: "HS512", secret: OLD_SECRET }))).verdict).to.equal("allow");
  });

  it("passes a value without the JWT shape, and a request without the parameter", async () => {
    expect(await decide("a-user-token")).to.deep.equal({ verdict: "pass" });
    expect(await step.decide(authRequest({ query: "e=1&sign=abc" }))).to.deep.equal({ verdict: "pass" });
  });

  const refusals: [string, () => Promise<string>, string][] = [
    ["an expired token", () => hsToken({ ...good, exp: NOW_SEC - 31 }), "jwt-expired"],
    ["a token not valid before a future nbf", () => hsToken({ ...good, nbf: NOW_SEC + 31 }), "jwt-not-yet-valid"],
    ["a token of another issuer", () => hsToken({ ...good, iss: "https://other.example" }), "jwt-issuer"],
    ["a token for another audience", () => hsToken({ ...good, aud: "radio" }), "jwt-audience"],
    ["a token signed with an unknown secret", () => hsToken(good, { secret: "x".repeat(40) }), "jwt-bad-signature"],
    ["a token for another channel", () => hsToken({ ...good, channels: ["news"] }), "jwt-channel"],
    ["an unsigned token (alg none)", async () => `${b64({ alg: "none", typ: "JWT" })}.${b64({ ...good, exp: NOW_SEC + 60 })}.`, "jwt-alg"],
    ["a token with a header that is not JSON", async () => `bm90LWpzb24.${b64(good)}.c2ln`, "jwt-malformed"],
    ["a token with a non-list channels claim", () => hsToken({ ...good, channels: "test" }), "jwt-claims"],
    ["a token with a bad max_sessions claim", () => hsToken({ ...good, max_sessions: 0 }), "jwt-claims"],
  ];
  for (const [what, make, code] of refusals) {
    it(`refuses ${what} with reason ${code}`, async () => {
      const verdict = await decide(await make());
      expect(verdict).to.include({ verdict: "deny", code });
      expect((verdict as { reason: string }).reason.startsWith(`${code}: `)).to.equal(true);
    });
  }

  it("refuses a re-spelled signature (unused low bits of its last character changed): one token, one spelling", async () => {
    const token = await hsToken(good);
    const last = token.at(-1)!;
    // HS256: 32 bytes = 43 characters, the last carrying 4 bits and 2 unused ones.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const twin = token.slice(0, -1) + alphabet[alphabet.indexOf(last) ^ 1]!;
    expect(Buffer.from(twin.split(".")[2]!, "base64url").equals(Buffer.from(token.split(".")[2]!, "base64url"))).to.equal(true);
    expect((await decide(token)).verdict).to.equal("allow");
    expect(await decide(twin)).to.include({ verdict: "deny", code: "jwt-malformed" });
  });

  it("takes exp and nbf within clockSkewSec on the injected clock", async () => {
    const token = await hsToken({ ...good, exp: NOW_SEC + 60 });
    clock.set((NOW_SEC + 60 + 29) * 1000);
    const admitted = await decide(token);
    expect(admitted.verdict).to.equal("allow");
    // The session's cut is the last moment the step accepts the token, still ahead: not closed at once.
    expect(admitted).to.include({ validUntilMs: (NOW_SEC + 60 + 30) * 1000 });
    expect((admitted as { validUntilMs: number }).validUntilMs).to.be.greaterThan(clock.now());
    clock.set((NOW_SEC + 60 + 31) * 1000);
    expect(await decide(token)).to.include({ code: "jwt-expired" });
  });

  it("grants channels through the packages claim (auth.packages) and * in either claim", async () => {
    const base = { sub: "bob", iss: "https://issuer.example", aud: "tv" };
    expect((await decide(await hsToken({ ...base, packages: ["basic"] }), { channel: "news" })).verdict).to.equal("allow");
    expect(await decide(await hsToken({ ...base, packages: ["basic"] }), { channel: "sport" })).to.include({ code: "jwt-channel" });
    expect(await decide(await hsToken({ ...base, packages: ["nonexistent"] }))).to.include({ code: "jwt-channel" });
    expect((await decide(await hsToken({ ...base, packages: ["all"] }), { channel: "sport" })).verdict).to.equal("allow");
    expect((await decide(await hsToken({ ...base, channels: ["*"] }), { channel: "sport" })).verdict).to.equal("allow");
  });

  it("refuses an RS256 token when only secrets are configured, without trying them", async () => {
    const { privateKey } = await generateKeyPair("RS256");
    const token = await new SignJWT(good)
      .setProtectedHeader({ alg: "RS256" })
      .setExpirationTime(NOW_SEC + 60)
      .sign(privateKey);
    expect(await decide(token)).to.include({ verdict: "deny", code: "jwt-alg" });
  });

  it("refuses an HS256 token under a JWKS-only configuration (no public key is ever an HMAC secret)", async () => {
    const { publicKey } = await generateKeyPair("RS256");
    const jwk = JSON.stringify(await exportJWK(publicKey));
    const { step: rsOnly } = build({ jwksUrl: "http://127.0.0.1:9/jwks.json" });
    const forged = await hsToken({ channels: ["*"] }, { secret: jwk });
    expect(await rsOnly.decide(authRequest({ query: `token=${forged}` }))).to.include({ verdict: "deny", code: "jwt-alg" });
  });

  it("counts forged tokens for the brute-force throttle, not expired ones", async () => {
    const { step: strict } = build({ secrets: [SECRET] }, { maxFailures: 2 });
    const ip = "198.51.100.7";
    const expired = await hsToken({ channels: ["*"], exp: NOW_SEC - 100 });
    for (let i = 0; i < 3; i++)
      expect(await strict.decide(authRequest({ ip, query: `token=${expired}` }))).to.include({ code: "jwt-expired" });
    const forged = await hsToken({ channels: ["*"] }, { secret: "y".repeat(40) });
    expect(await strict.decide(authRequest({ ip, query: `token=${forged}` }))).to.include({ code: "jwt-bad-signature" });
    expect(await strict.decide(authRequest({ ip, query: `token=${forged}` }))).to.include({ code: "jwt-bad-signature" });
    const valid = await hsToken({ channels: ["*"] });
    expect(await strict.decide(authRequest({ ip, query: `token=${valid}` }))).to.include({
      verdict: "deny",
      reason: "too many failed attempts",
    });
    expect((await strict.decide(authRequest({ ip: "198.51.100.8", query: `token=${valid}` }))).verdict).to.equal("allow");
  });

  it("never writes the token into a reason", async () => {
    const token = await hsToken({ ...good, aud: "radio" });
    const verdict = (await decide(token)) as { reason: string };
    expect(verdict.reason).not.to.contain(token.split(".")[2]);
  });

  describe("configuration", () => {
    const issuesOf = (jwt: unknown): string[] => configIssuesOf({ auth: { jwt } } as PluginConfigInput);

    it("is off by default (auth.jwt: null)", () => {
      expect(parseConfig(pluginConfigSchema, {}).auth.jwt).to.equal(null);
    });

    it("fills every key's default when written as a mapping", () => {
      expect(parseConfig(pluginConfigSchema, { auth: { jwt: { secrets: [SECRET] } } }).auth.jwt).to.deep.equal({
        param: "token",
        secrets: [SECRET],
        jwksUrl: null,
        issuer: null,
        audience: null,
        clockSkewSec: 30,
        userClaim: "sub",
        channelsClaim: "channels",
        packagesClaim: "packages",
        maxConnectionsClaim: "max_sessions",
      });
    });

    it("refuses a secret shorter than 32 bytes without echoing it", () => {
      const issues = issuesOf({ secrets: [SECRET, "short-secret"] });
      expect(issues).to.deep.equal(["auth.jwt.secrets[1]: is too weak: an HS secret needs at least 32 bytes"]);
    });

    it("refuses a section with neither secrets nor jwksUrl, a bad URL and unknown keys", () => {
      expect(issuesOf({})).to.deep.equal(["auth.jwt: needs secrets (HS algorithms) or a jwksUrl (public keys), or both"]);
      expect(issuesOf({ jwksUrl: "ftp://x/keys" })[0]).to.match(/^auth\.jwt\.jwksUrl: must be an absolute http/);
      expect(issuesOf({ secrets: [SECRET], algorithms: ["none"] })[0]).to.match(/^auth\.jwt/);
    });
  });
});
