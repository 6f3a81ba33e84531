import { expect } from "chai";
import {
  credentialKey,
  credentialKeyOfGiven,
  credentialKeysOf,
  repeatedCredentialParam,
} from "../../plugin/src/sessions/credential-key.js";
import { RevocationList } from "../../plugin/src/sessions/revocation-list.js";
import { makeSecureLink } from "../../plugin/src/index.js";
import { authRequest } from "../helpers/auth-requests.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { es256Twin } from "../helpers/ecdsa-twin.js";
import { compactVerify, generateKeyPair, SignJWT } from "jose";

const ASTRA = new URL(
  makeSecureLink({
    url: "http://h/live/ch1.flv",
    ip: "127.0.0.1",
    secret: "s",
    lifetimeSec: 600,
    nowMs: 1_800_000_007_000,
    salt: "a5cd6c00",
  }),
).searchParams.get("token")!;
const NMS = new URL(
  makeSecureLink({ url: "rtmp://h/live/stream", secret: "nodemedia2017privatekey", format: "nms", nowMs: 4102444799_000, lifetimeSec: 1 }),
).searchParams.get("sign")!;
const [HASH, SALT, END, START] = ASTRA.split("-") as [string, string, string, string];
const upper = (s: string) => s.replace(/[a-f]/g, (c) => c.toUpperCase());

describe("credentialKey: one key per credential, whatever its spelling", () => {
  it("gives a signed link the same key in every spelling and in either parameter", () => {
    const key = credentialKey("token", ASTRA);
    expect(key).to.be.a("string").and.not.include(HASH);
    for (const spelling of [
      `${upper(HASH)}-${SALT}-${END}-${START}`,
      `${HASH}-${SALT}-0${END}-${START}`,
      `${HASH}-${SALT}-${END}-00${START}`,
      `${HASH}-${SALT}-+${END}-${START}`,
      ` ${ASTRA} `,
      `${HASH}-${SALT}-${START}-${END}`,
      encodeURIComponent(encodeURIComponent(ASTRA)),
    ]) {
      expect(credentialKey("token", spelling), spelling).to.equal(key);
      expect(credentialKey("sign", spelling), `sign=${spelling}`).to.equal(key);
    }
  });

  it("gives an nms sign one key in ?sign= and ?token=, with upper-case hex or a leading zero", () => {
    const [exp, md5] = NMS.split("-") as [string, string];
    const key = credentialKey("sign", NMS);
    for (const spelling of [NMS, `${exp}-${upper(md5)}`, `0${exp}-${md5}`, `${md5}-${exp}`]) {
      expect(credentialKey("sign", spelling), spelling).to.equal(key);
      expect(credentialKey("token", spelling), spelling).to.equal(key);
    }
  });

  it("keys a JWT by its header and payload: another valid signature of the same token is the same credential", async () => {
    const { privateKey, publicKey } = await generateKeyPair("ES256");
    const token = await new SignJWT({ sub: "alice", exp: 4102444800 }).setProtectedHeader({ alg: "ES256" }).sign(privateKey);
    const twin = es256Twin(token);
    expect(twin).to.not.equal(token);
    await compactVerify(twin, publicKey); // still valid: the twin is a real second spelling, not a forgery
    const key = credentialKey("token", token);
    expect(key).to.be.a("string");
    for (const spelling of [twin, ` ${token} `, encodeURIComponent(twin), `${token.slice(0, token.lastIndexOf("."))}.`]) {
      expect(credentialKey("token", spelling), spelling).to.equal(key);
    }
    expect(credentialKeyOfGiven(`token=${twin}`)).to.equal(key);
    expect(credentialKeyOfGiven(`rtmp://h/live/ch?token=${token}`)).to.equal(key);
    expect(credentialKeysOf(new URLSearchParams(`token=${twin}`))).to.deep.equal([key]);
    const other = await new SignJWT({ sub: "bob", exp: 4102444800 }).setProtectedHeader({ alg: "ES256" }).sign(privateKey);
    expect(credentialKey("token", other), "another payload is another credential").to.not.equal(key);
    expect(key, "not the digest of the whole text").to.not.equal(credentialKey("token", "x.y.z"));
  });

  it("keys a password login by its login only, exactly", () => {
    expect(credentialKey("auth", "alice:pw1")).to.equal(credentialKey("auth", "alice:other"));
    expect(credentialKey("auth", "alice:pw1")).to.equal(credentialKey("auth", "alice"));
    expect(credentialKey("auth", "alice:pw1")).to.not.equal(credentialKey("auth", "bob:pw1"));
    // A login is no token: `token=alice` is another credential.
    expect(credentialKey("auth", "alice:pw1")).to.not.equal(credentialKey("token", "alice"));
  });

  it("folds an opaque token's case, percent-encoding (however deep), + and surrounding spaces", () => {
    const key = credentialKey("token", "Opaque-Token+42");
    for (const spelling of ["opaque-token 42", "OPAQUE-TOKEN+42", "%4Fpaque-token%2B42", "%254Fpaque-token%252B42", "  opaque-token 42 "]) {
      expect(credentialKey("token", spelling), spelling).to.equal(key);
    }
    expect(credentialKey("token", "opaque-token-43")).to.not.equal(key);
    expect(credentialKey("token", "")).to.equal(null);
    expect(credentialKey("token", "%")).to.be.a("string"); // a malformed escape is kept as it is
  });

  it("reads every credential of a query, parameter names without case, and finds a parameter given twice with different values", () => {
    const keys = credentialKeysOf(new URLSearchParams(`TOKEN=a&sign=${NMS}&auth=alice:x&other=y`));
    expect(keys).to.have.members([credentialKey("token", "a"), credentialKey("sign", NMS), credentialKey("auth", "alice")]);
    expect(repeatedCredentialParam(new URLSearchParams("token=x&token=REVOKED"))).to.equal("token");
    expect(repeatedCredentialParam(new URLSearchParams("token=x&Token=y"))).to.equal("token");
    expect(repeatedCredentialParam(new URLSearchParams("sign=1-a&sign=2-b"))).to.equal("sign");
    expect(repeatedCredentialParam(new URLSearchParams("token=x&token=x&sign=y&auth=z"))).to.equal(undefined);
  });

  it("takes what an operator pastes into the revoke API: a bare value, name=value, a query or a whole link", () => {
    const key = credentialKey("token", ASTRA);
    for (const given of [ASTRA, `token=${ASTRA}`, `?token=${ASTRA}`, `http://h:8000/live/ch1.flv?x=1&token=${ASTRA}`, upper(ASTRA)]) {
      expect(credentialKeyOfGiven(given), given).to.equal(key);
    }
    expect(credentialKeyOfGiven(`sign=${NMS}`)).to.equal(credentialKey("sign", NMS));
    expect(credentialKeyOfGiven(NMS)).to.equal(credentialKey("sign", NMS));
    expect(credentialKeyOfGiven("auth=alice:pw")).to.equal(credentialKey("auth", "alice"));
    expect(credentialKeyOfGiven("alice-token-0001")).to.equal(credentialKey("token", "ALICE-TOKEN-0001"));
    // base64 padding is no parameter name
    expect(credentialKeyOfGiven("abc==")).to.equal(credentialKey("token", "abc=="));
  });

  it("the revocation list refuses every spelling and parameter of a revoked credential", () => {
    const clock = new ManualClock(0);
    const list = new RevocationList(clock);
    list.add({ kind: "token", key: credentialKeyOfGiven(upper(ASTRA))!, untilMs: 60_000 });
    list.add({ kind: "token", key: credentialKeyOfGiven(NMS)!, untilMs: 60_000 });
    for (const query of [
      `token=${ASTRA}`,
      `token=${HASH}-${SALT}-0${END}-${START}`,
      `sign=${ASTRA}`,
      `token=ok&TOKEN=${ASTRA}`,
      `sign=${NMS}`,
      `sign=0${NMS}`,
      `token=${NMS}`,
    ]) {
      expect(list.refusalOfCredential(authRequest({ query })), query).to.equal("the token is revoked");
    }
    expect(list.refusalOfCredential(authRequest({ query: "token=something-else" }))).to.equal(null);
  });
});
