import { expect } from "chai";
import { signatureHeader, verifySignature } from "../../plugin/src/events/webhook-signature.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { createHmac } from "node:crypto";

const SECRET = "webhook-secret-0123456789";
const BODY = JSON.stringify({ id: "e1", type: "session.start" });

describe("webhook signature (VA-Signature)", () => {
  const clock = new ManualClock(1_800_000_000_000);
  const nowSec = () => Math.floor(clock.now() / 1000);

  it("is t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<body>'>", () => {
    const header = signatureHeader(SECRET, BODY, nowSec());
    const expected = createHmac("sha256", SECRET).update(`${nowSec()}.${BODY}`).digest("hex");
    expect(header).to.equal(`t=${nowSec()},v1=${expected}`);
  });

  it("verifies with the same secret, body and a time within the skew", () => {
    const header = signatureHeader(SECRET, BODY, nowSec());
    clock.advance(299_000);
    expect(verifySignature(SECRET, BODY, header, nowSec(), 300)).to.equal(true);
  });

  it("refuses another secret, a changed body, a bad header, or a time beyond the skew", () => {
    const header = signatureHeader(SECRET, BODY, nowSec());
    expect(verifySignature("another-secret-0123456789", BODY, header, nowSec())).to.equal(false);
    expect(verifySignature(SECRET, BODY.replace("e1", "e2"), header, nowSec())).to.equal(false);
    expect(verifySignature(SECRET, BODY, header.replace("v1=", "v2="), nowSec())).to.equal(false);
    expect(verifySignature(SECRET, BODY, "", nowSec())).to.equal(false);
    clock.advance(301_000);
    expect(verifySignature(SECRET, BODY, header, nowSec(), 300)).to.equal(false);
  });
});
