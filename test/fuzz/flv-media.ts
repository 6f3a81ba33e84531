/** What an FLV byte stream carried: tags read whole, and how many of them were audio or video. */
export interface FlvMedia {
  tags: number;
  mediaTags: number;
  /** Payload bytes of the audio (8) and video (9) tags. */
  mediaBytes: number;
  /** True when the bytes did not start with an FLV header or a tag header made no sense. */
  malformed: boolean;
}

const FLV_HEADER_BYTES = 9;
const TAG_HEADER_BYTES = 11;

/**
 * Reads an FLV stream (header, then tags each followed by a 4-byte previous-tag size) as far as whole
 * tags go, and counts the media in it: what an HTTP-FLV or WS-FLV client actually got to play.
 */
export function flvMediaOf(bytes: Buffer): FlvMedia {
  const result: FlvMedia = { tags: 0, mediaTags: 0, mediaBytes: 0, malformed: false };
  if (bytes.length < 3) return result;
  if (bytes.toString("latin1", 0, 3) !== "FLV") return { ...result, malformed: true };
  if (bytes.length < FLV_HEADER_BYTES) return result;
  let offset = bytes.readUInt32BE(5) + 4; // header size, then PreviousTagSize0
  while (offset + TAG_HEADER_BYTES <= bytes.length) {
    const type = bytes[offset]! & 0x1f;
    const size = bytes.readUIntBE(offset + 1, 3);
    if (type !== 8 && type !== 9 && type !== 18) return { ...result, malformed: true };
    if (offset + TAG_HEADER_BYTES + size > bytes.length) break;
    result.tags++;
    if (type === 8 || type === 9) {
      result.mediaTags++;
      result.mediaBytes += size;
    }
    offset += TAG_HEADER_BYTES + size + 4;
  }
  return result;
}
