import { expect } from "chai";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { startPublishingNms, type NmsInstance } from "../helpers/nms-instance.js";
import { waitUntil } from "../helpers/wait-for.js";
import { TEST_API_TOKEN } from "../helpers/api-tokens.js";
import { apiFetch } from "../helpers/openapi-check.js";
import { auditSecrets } from "../helpers/log-audit.js";
import { es256Twin } from "../helpers/ecdsa-twin.js";

const STREAM = "jwtrev";

describe("JWT revocation by identity: a revoked ES256 token is refused under its other valid signature (real NMS 4.4.3, real API)", function () {
  this.timeout(60_000);
  let nms: NmsInstance;
  let jwks: Server;
  let privateKey: CryptoKey;
  let publicJwk: JWK;

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await apiFetch(`http://127.0.0.1:${nms.auth.api!.port}${path}`, {
      method,
      headers: { authorization: `Bearer ${TEST_API_TOKEN}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as any };
  };
  const flv = (token: string) => `http://127.0.0.1:${nms.httpPort}/live/${STREAM}.flv?token=${token}`;
  const playing = () => nms.auth.sessions.count({ state: "playing" });
  const token = (sub: string) =>
    new SignJWT({ sub, channels: [STREAM], exp: Math.floor(Date.now() / 1000) + 600 })
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .sign(privateKey);

  before(async function () {
    if (!hasFfmpeg) this.skip();
    const pair = await generateKeyPair("ES256");
    privateKey = pair.privateKey;
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256", use: "sig" };
    jwks = createServer((_req, res) =>
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [publicJwk] })),
    );
    await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve));
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
    nms = await startPublishingNms(
      { auth: { defaultAction: "deny", jwt: { jwksUrl } }, api: { enabled: true, port: 0, token: TEST_API_TOKEN } },
      `live/${STREAM}`,
    );
    await nms.auth.ready;
  });
  after(async () => {
    await nms?.stop();
    await new Promise<void>((resolve) => jwks?.close(() => resolve()));
  });

  it("both signatures play; revoking the original closes the twin's session and refuses the twin; lifting lets it back", async () => {
    const original = await token("alice");
    const twin = es256Twin(original);
    const bystander = await token("bob");
    auditSecrets(original, twin, bystander);
    expect(twin).to.not.equal(original);

    const twinFirst = await httpGetFor(flv(twin), 800);
    expect(twinFirst.status, "the twin is a valid token to the JWT step").to.equal(200);
    expect(twinFirst.body.subarray(0, 3).toString()).to.equal("FLV");

    await waitUntil("the first play's end", () => playing() === 0, 10_000);
    const abort = new AbortController();
    const twinPlaying = httpGetFor(flv(twin), 30_000, { abortSignal: abort.signal });
    await waitUntil("the twin playing", () => playing() === 1, 10_000);

    const made = await api("POST", "/api/revocations", { token: original, ttlSec: 600 });
    expect(made.status).to.equal(201);
    expect(made.json.closed, `the twin's session is the revoked token's: ${JSON.stringify(made.json)}`).to.have.length(1);
    const cut = await twinPlaying;
    expect(cut.bytes).to.be.above(0);

    for (const spelling of [original, twin]) {
      const refused = await httpGetFor(flv(spelling), 1000);
      expect(refused.status, spelling === twin ? "the twin" : "the original").to.equal(403);
      expect(refused.bytes).to.be.below(200);
      expect(nms.logs.events("auth.decision").at(-1)).to.include({ step: "revoked", verdict: "deny" });
    }
    const other = await httpGetFor(flv(bystander), 800);
    expect(other.status, "another token of the same key plays on").to.equal(200);

    expect((await api("DELETE", made.json.location)).status).to.equal(200);
    expect((await httpGetFor(flv(twin), 800)).status).to.equal(200);
    abort.abort();
  });
});
