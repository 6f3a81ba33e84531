/** The order n of P-256's base point. */
const P256_ORDER = BigInt("0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");

/**
 * The same ES256 token under its other valid signature: an ECDSA signature (r, s) verifies exactly as
 * (r, n−s) does, so anyone holding the token can make this second, still valid token without the key.
 */
export function es256Twin(token: string): string {
  const dot = token.lastIndexOf(".");
  const signature = Buffer.from(token.slice(dot + 1), "base64url");
  if (signature.length !== 64) throw new Error("not an ES256 signature (r || s, 32 bytes each)");
  const s = BigInt(`0x${signature.subarray(32).toString("hex")}`);
  const twinS = Buffer.from((P256_ORDER - s).toString(16).padStart(64, "0"), "hex");
  return `${token.slice(0, dot)}.${Buffer.concat([signature.subarray(0, 32), twinS]).toString("base64url")}`;
}
