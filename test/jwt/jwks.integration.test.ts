import { expect } from "chai";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";
import { createJwtAuthorizer } from "../../plugin/src/jwt/jwt-authorizer.js";
import { JWKS_REFETCH_INTERVAL_MS } from "../../plugin/src/jwt/jwks-keys.js";
import { parseConfig, pluginConfigSchema, type Authorizer, type StepVerdict } from "../../plugin/src/index.js";
import { authRequest } from "../helpers/auth-requests.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { waitUntil } from "../helpers/wait-for.js";

interface KeyPair {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function keyPair(kid: string, alg: string): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { crv: alg === "EdDSA" ? "Ed25519" : undefined });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

describe("JWT step with a JWKS endpoint (a real local HTTP server)", function () {
  this.timeout(20000);
  const clock = new ManualClock(Date.parse("2026-06-01T00:00:00Z"));
  const nowSec = () => Math.floor(clock.now() / 1000);
  const logs = createCapturingLogger();
  let server: Server;
  let published: JWK[] = [];
  let up = true;
  let requests = 0;
  let url: string;
  let rsA: KeyPair, rsB: KeyPair, es: KeyPair, ed: KeyPair, unpublished: KeyPair;

  before(async () => {
    [rsA, rsB, es, ed, unpublished] = await Promise.all([
      keyPair("rs-a", "RS256"),
      keyPair("rs-b", "PS256"),
      keyPair("es", "ES256"),
      keyPair("ed", "EdDSA"),
      keyPair("never", "RS256"),
    ]);
    server = createServer((_req, res) => {
      requests += 1;
      if (!up) {
        res.writeHead(503).end("down");
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: published }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    published = [rsA.jwk, es.jwk, ed.jwk];
    up = true;
    requests = 0;
  });

  function build(): Authorizer {
    const config = parseConfig(pluginConfigSchema, { auth: { jwt: { jwksUrl: url, audience: "tv" }, bruteForce: { maxFailures: 1000 } } });
    return createJwtAuthorizer(config.auth.jwt!, { clock, log: logs.logger, throttle: undefined, packages: () => ({}) });
  }
  const sign = (key: KeyPair, claims: Record<string, unknown> = {}) =>
    new SignJWT({ aud: "tv", channels: ["test"], sub: "viewer", exp: nowSec() + 600, ...claims })
      .setProtectedHeader({ alg: key.alg, kid: key.kid })
      .sign(key.privateKey);
  const decide = async (step: Authorizer, token: string): Promise<StepVerdict> => step.decide(authRequest({ query: `token=${token}` }));

  it("verifies RS256, ES256 and EdDSA tokens with the published keys, fetching the set once", async () => {
    const step = build();
    for (const key of [rsA, es, ed]) expect(await decide(step, await sign(key)), key.alg).to.include({ verdict: "allow" });
    expect(requests).to.equal(1);
  });

  it("refuses a token signed by an unpublished key after one refetch, and refetches no more than once per 30 s", async () => {
    const step = build();
    await decide(step, await sign(rsA));
    expect(requests).to.equal(1);
    clock.advance(JWKS_REFETCH_INTERVAL_MS);
    const forged = await sign({ ...unpublished, kid: "unknown" });
    expect(await decide(step, forged)).to.include({ verdict: "deny", code: "jwt-unknown-kid" });
    expect(requests).to.equal(2);
    for (let i = 0; i < 5; i++) expect(await decide(step, forged)).to.include({ code: "jwt-unknown-kid" });
    expect(requests, "no refetch within 30 s").to.equal(2);
    clock.advance(JWKS_REFETCH_INTERVAL_MS);
    expect(await decide(step, forged)).to.include({ code: "jwt-unknown-kid" });
    expect(requests).to.equal(3);
  });

  it("refuses a token claiming a published kid but signed by another key (jwt-bad-signature)", async () => {
    const step = build();
    const forged = await sign({ ...unpublished, kid: rsA.kid });
    expect(await decide(step, forged)).to.include({ verdict: "deny", code: "jwt-bad-signature" });
  });

  it("picks up a rotated key: a new kid refetches the set and is accepted", async () => {
    const step = build();
    expect(await decide(step, await sign(rsA))).to.include({ verdict: "allow" });
    published = [rsA.jwk, rsB.jwk];
    clock.advance(JWKS_REFETCH_INTERVAL_MS);
    expect(await decide(step, await sign(rsB))).to.include({ verdict: "allow" });
    expect(requests).to.equal(2);
  });

  it("tries each key of the token's alg when the token names no kid (two RS256 keys published)", async () => {
    const second = await keyPair("rs-2", "RS256");
    published = [rsA.jwk, second.jwk];
    const step = build();
    const withoutKid = (key: KeyPair) =>
      new SignJWT({ aud: "tv", channels: ["test"], exp: nowSec() + 600 }).setProtectedHeader({ alg: "RS256" }).sign(key.privateKey);
    expect(await decide(step, await withoutKid(second))).to.include({ verdict: "allow" });
    expect(await decide(step, await withoutKid(rsA))).to.include({ verdict: "allow" });
    expect(await decide(step, await withoutKid(unpublished))).to.include({ verdict: "deny", code: "jwt-bad-signature" });
  });

  it("keeps the cached keys while the JWKS endpoint is down, and never allows without keys", async () => {
    const step = build();
    expect(await decide(step, await sign(rsA))).to.include({ verdict: "allow" });
    up = false;
    clock.advance(11 * 60_000); // past the set's age: a background refresh fails
    expect(await decide(step, await sign(rsA))).to.include({ verdict: "allow" });
    await waitUntil("a background refresh", () => requests >= 2, 5000, 20);
    expect(await decide(step, await sign(rsA))).to.include({ verdict: "allow" });
    clock.advance(JWKS_REFETCH_INTERVAL_MS);
    expect(await decide(step, await sign({ ...unpublished, kid: "other" }))).to.include({ code: "jwt-unknown-kid" });

    const cold = build();
    expect(await decide(cold, await sign(rsA))).to.include({ verdict: "deny", code: "jwt-keys-unavailable" });
    expect(logs.events("jwt.jwks_unavailable").length).to.be.greaterThan(0);
  });
});
