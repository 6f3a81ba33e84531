import { expect } from "chai";
import { parseStoredPassword, type StoredPassword } from "../../plugin/src/users/stored-password.js";
import { hashPassword, verifyPassword } from "../../plugin/src/users/password-hash.js";

const FAST = { cost: 1024, blockSize: 8, parallelization: 1 };

describe("password hashes (scrypt)", () => {
  it("hashes as scrypt$N$r$p$salt$hash with a fresh salt, and verifies only the right password", async () => {
    const a = await hashPassword("s3cret:with:colons", FAST);
    const b = await hashPassword("s3cret:with:colons", FAST);
    expect(a).to.match(/^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).to.not.equal(b);
    const stored = parseStoredPassword(a) as StoredPassword;
    expect(stored).to.include({ kind: "scrypt", cost: 1024, blockSize: 8, parallelization: 1 });
    expect(await verifyPassword("s3cret:with:colons", stored)).to.equal(true);
    expect(await verifyPassword("s3cret:with:colon", stored)).to.equal(false);
    expect(await verifyPassword("", stored)).to.equal(false);
  });

  it("uses N=16384, r=8, p=1 by default", async () => {
    expect(await hashPassword("demo")).to.match(/^scrypt\$16384\$8\$1\$/);
  });

  it("takes text without the scrypt$ prefix as plaintext, compared in constant time", async () => {
    const stored = parseStoredPassword("demo") as StoredPassword;
    expect(stored).to.deep.equal({ kind: "plain", text: "demo" });
    expect(await verifyPassword("demo", stored)).to.equal(true);
    expect(await verifyPassword("demo2", stored)).to.equal(false);
  });

  it("rejects malformed hashes with a message that never quotes them", () => {
    expect(parseStoredPassword("scrypt$1024$8$1$abc")).to.equal("is not a valid scrypt hash (expected scrypt$N$r$p$salt$hash)");
    expect(parseStoredPassword("scrypt$1000$8$1$abcd$abcdabcdabcdabcdabcdabcd")).to.equal(
      "is not a valid scrypt hash (N must be a power of two, 2..2^20)",
    );
    expect(parseStoredPassword("scrypt$1024$0$1$abcd$abcdabcdabcdabcdabcdabcd")).to.equal("is not a valid scrypt hash (r must be 1..64)");
    expect(parseStoredPassword("scrypt$1024$8$99$abcd$abcdabcdabcdabcdabcdabcd")).to.equal("is not a valid scrypt hash (p must be 1..16)");
    expect(parseStoredPassword("scrypt$1024$8$1$ab+d$abcdabcdabcdabcdabcdabcd")).to.equal(
      "is not a valid scrypt hash (salt and hash must be base64url)",
    );
    expect(parseStoredPassword("scrypt$1024$8$1$abcd$abcd")).to.equal("is not a valid scrypt hash (hash shorter than 16 bytes)");
  });
});
