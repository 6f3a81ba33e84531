/** A WebSocket frame as the server sent it (server frames are never masked). */
export interface ServerFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/** WebSocket opcodes used here. */
export const WS_OPCODE = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/**
 * Encodes one client frame (RFC 6455 §5.2), with every field open to abuse: `mask: false` sends an
 * unmasked client frame, `rsv` sets reserved bits, `declaredLength` announces a length other than the
 * payload's (up to 2^53), so a test can send frames a correct client never would.
 */
export function clientFrame(
  opcode: number,
  payload: Buffer,
  opts: { fin?: boolean; mask?: boolean; rsv?: number; declaredLength?: number } = {},
): Buffer {
  const length = opts.declaredLength ?? payload.length;
  const first = ((opts.fin ?? true) ? 0x80 : 0) | (((opts.rsv ?? 0) & 0x7) << 4) | (opcode & 0x0f);
  const masked = opts.mask ?? true;
  let head: Buffer;
  if (length < 126) {
    head = Buffer.from([first, (masked ? 0x80 : 0) | length]);
  } else if (length <= 0xffff) {
    head = Buffer.alloc(4);
    head[0] = first;
    head[1] = (masked ? 0x80 : 0) | 126;
    head.writeUInt16BE(length, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = first;
    head[1] = (masked ? 0x80 : 0) | 127;
    head.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    head.writeUInt32BE(length % 2 ** 32, 6);
  }
  if (!masked) return Buffer.concat([head, payload]);
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] = body[i]! ^ key[i % 4]!;
  return Buffer.concat([head, key, body]);
}

/** Reads whole server frames from the bytes after the 101 answer; a partial last frame is left out. */
export function readServerFrames(bytes: Buffer): ServerFrame[] {
  const frames: ServerFrame[] = [];
  let offset = 0;
  while (offset + 2 <= bytes.length) {
    const fin = (bytes[offset]! & 0x80) !== 0;
    const opcode = bytes[offset]! & 0x0f;
    const masked = (bytes[offset + 1]! & 0x80) !== 0;
    let length = bytes[offset + 1]! & 0x7f;
    let at = offset + 2;
    if (length === 126) {
      if (at + 2 > bytes.length) break;
      length = bytes.readUInt16BE(at);
      at += 2;
    } else if (length === 127) {
      if (at + 8 > bytes.length) break;
      length = bytes.readUInt32BE(at) * 2 ** 32 + bytes.readUInt32BE(at + 4);
      at += 8;
    }
    if (masked) at += 4;
    if (at + length > bytes.length) break;
    frames.push({ fin, opcode, payload: bytes.subarray(at, at + length) });
    offset = at + length;
  }
  return frames;
}

/** The status code of a close frame, when it has one. */
export function closeCodeOf(frame: ServerFrame): number | undefined {
  return frame.opcode === WS_OPCODE.close && frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : undefined;
}
