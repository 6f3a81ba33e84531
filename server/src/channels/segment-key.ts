import { createDecipheriv } from "node:crypto";

/** The AES-128 key file and IV that apply to one segment of a media playlist. */
export interface SegmentKey {
  /** The `#EXT-X-KEY` URI without its query: the key's file name. */
  keyName: string;
  iv: Buffer;
}

/**
 * The key in force for `segmentUri` (the last `#EXT-X-KEY` before it, RFC 8216 §4.3.2.4) and its IV: the
 * tag's `IV`, else the segment's media sequence number as a 128-bit big-endian integer. Null when the
 * segment is not listed or is clear.
 */
export function segmentKeyOf(playlist: string, segmentUri: string): SegmentKey | null {
  let sequence = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(playlist)?.[1] ?? 0);
  let key: { name: string; iv: Buffer | null } | null = null;
  for (const raw of playlist.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#EXT-X-KEY:")) key = keyTagOf(line);
    else if (line !== "" && !line.startsWith("#")) {
      if (line === segmentUri) return key === null ? null : { keyName: key.name, iv: key.iv ?? sequenceIv(sequence) };
      sequence += 1;
    }
  }
  return null;
}

/** AES-128-CBC with PKCS#7 padding, as HLS encrypts whole segments. */
export function decryptSegment(bytes: Buffer, key: Buffer, iv: Buffer): Buffer {
  const decipher = createDecipheriv("aes-128-cbc", key, iv);
  return Buffer.concat([decipher.update(bytes), decipher.final()]);
}

function keyTagOf(line: string): { name: string; iv: Buffer | null } | null {
  if (!/METHOD=AES-128/.test(line)) return null;
  const uri = /URI="([^"]+)"/.exec(line)?.[1];
  if (uri === undefined) return null;
  const hex = /IV=0[xX]([0-9a-fA-F]{32})/.exec(line)?.[1];
  return { name: uri.split("?")[0]!, iv: hex === undefined ? null : Buffer.from(hex, "hex") };
}

function sequenceIv(sequence: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(sequence), 8);
  return iv;
}
