import { expect } from "chai";
import { maskSecret, secretsEqual } from "../../plugin/src/core/secrets.js";

describe("secrets: constant-time comparison and masking", () => {
  const compared: [string, string, boolean][] = [
    ["s3cret-token", "s3cret-token", true],
    ["", "", true],
    ["s3cret-token", "s3cret-tokeN", false],
    ["s3cret", "s3cret-token", false],
    ["s3cret-token", "", false],
    ["é", "e\u0301", false],
    ["ключ", "ключ", true],
  ];
  for (const [given, expected, equal] of compared) {
    it(`${JSON.stringify(given)} vs ${JSON.stringify(expected)}: ${equal}`, () => {
      expect(secretsEqual(given, expected)).to.equal(equal);
    });
  }

  const masked: [string, string][] = [
    ["", "<redacted>"],
    ["short", "<redacted>"],
    ["elevenchars", "<redacted>"],
    ["twelve-chars", "twel…<redacted>"],
    ["0123456789abcdef0123", "0123…<redacted>"],
  ];
  for (const [secret, mask] of masked) {
    it(`masks ${secret.length} characters as ${mask}`, () => {
      expect(maskSecret(secret)).to.equal(mask);
    });
  }
});
