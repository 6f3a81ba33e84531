/** An FLV stream whose tags carry the injection marker: what a hostile publisher would push. */
export function markedFlv(marker: Buffer): Buffer {
  const header = Buffer.from([0x46, 0x4c, 0x56, 0x01, 0x05, 0, 0, 0, 9, 0, 0, 0, 0]);
  const tag = (type: number, payload: Buffer) => {
    const head = Buffer.alloc(11);
    head[0] = type;
    head.writeUIntBE(payload.length, 1, 3);
    const size = Buffer.alloc(4);
    size.writeUInt32BE(payload.length + 11);
    return Buffer.concat([head, payload, size]);
  };
  // A keyframe AVC NALU and an AAC raw frame, both wrapping the marker, so a relay would pass them on.
  const video = Buffer.concat([Buffer.from([0x17, 0x01, 0, 0, 0]), marker, marker]);
  const audio = Buffer.concat([Buffer.from([0xaf, 0x01]), marker]);
  return Buffer.concat([header, tag(9, video), tag(8, audio), tag(9, video)]);
}
