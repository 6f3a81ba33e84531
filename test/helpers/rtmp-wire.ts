import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";

/**
 * A raw RTMP client for hostile-input tests: it speaks the handshake and the chunk stream itself, so a
 * test can send any AMF0 value in any command field, commands out of order, or plain junk, and count
 * exactly which messages (control, commands, media) the server answers with.
 */

/** An AMF0 value as the encoder takes it: plain JS values plus explicit markers for the rarer types. */
export type Amf0Value = number | boolean | string | null | undefined | Amf0Value[] | { readonly [key: string]: Amf0Value } | Amf0Special;

/** AMF0 types with no natural JS value: each encodes as its own marker. */
export type Amf0Special =
  | { readonly amf: "long-string"; readonly value: string }
  | { readonly amf: "xml"; readonly value: string }
  | { readonly amf: "date"; readonly ms: number }
  | { readonly amf: "reference"; readonly index: number }
  | { readonly amf: "ecma-array"; readonly value: Readonly<Record<string, Amf0Value>> }
  | { readonly amf: "typed-object"; readonly className: string; readonly value: Readonly<Record<string, Amf0Value>> }
  | { readonly amf: "raw"; readonly bytes: Buffer };

function isSpecial(value: unknown): value is Amf0Special {
  return typeof value === "object" && value !== null && !Array.isArray(value) && typeof (value as { amf?: unknown }).amf === "string";
}

function utf8Short(text: string): Buffer {
  const bytes = Buffer.from(text, "utf8");
  const length = Buffer.alloc(2);
  length.writeUInt16BE(Math.min(bytes.length, 0xffff));
  return Buffer.concat([length, bytes.subarray(0, 0xffff)]);
}

function properties(record: Readonly<Record<string, Amf0Value>>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of Object.entries(record)) parts.push(utf8Short(key), encodeAmf0(value));
  parts.push(Buffer.from([0x00, 0x00, 0x09]));
  return Buffer.concat(parts);
}

/** Encodes one AMF0 value. */
export function encodeAmf0(value: Amf0Value): Buffer {
  if (typeof value === "number") {
    const out = Buffer.alloc(9);
    out[0] = 0x00;
    out.writeDoubleBE(value, 1);
    return out;
  }
  if (typeof value === "boolean") return Buffer.from([0x01, value ? 1 : 0]);
  if (typeof value === "string") {
    const bytes = Buffer.from(value, "utf8");
    if (bytes.length <= 0xffff) return Buffer.concat([Buffer.from([0x02]), utf8Short(value)]);
    return encodeAmf0({ amf: "long-string", value });
  }
  if (value === null) return Buffer.from([0x05]);
  if (value === undefined) return Buffer.from([0x06]);
  if (Array.isArray(value)) {
    const head = Buffer.alloc(5);
    head[0] = 0x0a;
    head.writeUInt32BE(value.length, 1);
    return Buffer.concat([head, ...value.map((v) => encodeAmf0(v))]);
  }
  if (isSpecial(value)) {
    switch (value.amf) {
      case "long-string":
      case "xml": {
        const bytes = Buffer.from(value.value, "utf8");
        const head = Buffer.alloc(5);
        head[0] = value.amf === "xml" ? 0x0f : 0x0c;
        head.writeUInt32BE(bytes.length, 1);
        return Buffer.concat([head, bytes]);
      }
      case "date": {
        const out = Buffer.alloc(11);
        out[0] = 0x0b;
        out.writeDoubleBE(value.ms, 1);
        return out;
      }
      case "reference": {
        const out = Buffer.alloc(3);
        out[0] = 0x07;
        out.writeUInt16BE(value.index & 0xffff, 1);
        return out;
      }
      case "ecma-array": {
        const head = Buffer.alloc(5);
        head[0] = 0x08;
        head.writeUInt32BE(Object.keys(value.value).length, 1);
        return Buffer.concat([head, properties(value.value)]);
      }
      case "typed-object":
        return Buffer.concat([Buffer.from([0x10]), utf8Short(value.className), properties(value.value)]);
      case "raw":
        return value.bytes;
    }
  }
  return Buffer.concat([Buffer.from([0x03]), properties(value as Record<string, Amf0Value>)]);
}

/** One value of every AMF0 type, for putting into every command field. */
export const AMF0_SAMPLES: readonly { name: string; value: Amf0Value }[] = [
  { name: "number", value: 42 },
  { name: "NaN", value: Number.NaN },
  { name: "boolean", value: true },
  { name: "empty string", value: "" },
  { name: "control characters", value: "a\r\nX-Evil: 1\u0000\u0007" },
  { name: "long string", value: { amf: "long-string", value: "L".repeat(70_000) } },
  { name: "object", value: { a: 1, b: "x" } },
  { name: "null", value: null },
  { name: "undefined", value: undefined },
  { name: "reference", value: { amf: "reference", index: 7 } },
  { name: "ECMA array", value: { amf: "ecma-array", value: { 0: "x" } } },
  { name: "strict array", value: ["a", 1] },
  { name: "date", value: { amf: "date", ms: 0 } },
  { name: "XML", value: { amf: "xml", value: "<a/>" } },
  { name: "typed object", value: { amf: "typed-object", className: "Evil", value: { x: 1 } } },
  { name: "unknown marker", value: { amf: "raw", bytes: Buffer.from([0x0d]) } },
  { name: "truncated string", value: { amf: "raw", bytes: Buffer.from([0x02, 0xff, 0xff, 0x41]) } },
];

/** RTMP message type ids used here. */
export const MESSAGE_TYPE = {
  setChunkSize: 1,
  abort: 2,
  ack: 3,
  userControl: 4,
  windowAck: 5,
  peerBandwidth: 6,
  audio: 8,
  video: 9,
  data: 18,
  invoke: 20,
} as const;

/** Encodes a message as RTMP chunks (fmt 0, then fmt 3 continuations) with the given chunk size. */
export function encodeChunks(
  message: { csid: number; type: number; streamId: number; payload: Buffer; timestamp?: number },
  chunkSize = 128,
): Buffer {
  const header = Buffer.alloc(12);
  header[0] = message.csid & 0x3f;
  header.writeUIntBE(Math.min(message.timestamp ?? 0, 0xffffff), 1, 3);
  header.writeUIntBE(message.payload.length, 4, 3);
  header[7] = message.type;
  header.writeUInt32LE(message.streamId, 8);
  const parts: Buffer[] = [header];
  for (let offset = 0; offset < message.payload.length; offset += chunkSize) {
    if (offset > 0) parts.push(Buffer.from([0xc0 | (message.csid & 0x3f)]));
    parts.push(message.payload.subarray(offset, offset + chunkSize));
  }
  return Buffer.concat(parts);
}

/** An AMF0 command message (`connect`, `play`…) as chunks on chunk stream 3. */
export function commandChunks(name: string, transactionId: Amf0Value, args: readonly Amf0Value[], streamId = 0): Buffer {
  const payload = Buffer.concat([encodeAmf0(name), encodeAmf0(transactionId), ...args.map((a) => encodeAmf0(a))]);
  return encodeChunks({ csid: 3, type: MESSAGE_TYPE.invoke, streamId, payload });
}

/** What the server sent, message by message. */
export interface ReceivedMessage {
  type: number;
  streamId: number;
  payload: Buffer;
}

/** The usual connect command object of a player. */
export function connectObject(port: number, app = "live", extra: Record<string, Amf0Value> = {}): Record<string, Amf0Value> {
  return {
    app,
    flashVer: "LNX 9,0,124,2",
    tcUrl: `rtmp://127.0.0.1:${port}/${app}`,
    fpad: false,
    capabilities: 15,
    audioCodecs: 4071,
    videoCodecs: 252,
    videoFunction: 1,
    ...extra,
  };
}

/**
 * A raw RTMP connection: `handshake()`, then `send()` anything; `messages` collects what the server
 * sent (chunk stream reassembled, set-chunk-size honoured), `closed` resolves when the server closes.
 */
export class RawRtmpClient {
  readonly socket: Socket;
  readonly messages: ReceivedMessage[] = [];
  readonly closed: Promise<void>;
  #buffer = Buffer.alloc(0);
  #handshaken = false;
  #inChunkSize = 128;
  readonly #partial = new Map<
    number,
    { type: number; streamId: number; length: number; timestamp: number; parts: Buffer[]; have: number }
  >();
  #waiters: (() => void)[] = [];
  #parseError: string | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("error", () => undefined);
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
  }

  /** Opens a TCP connection to the RTMP port on loopback. */
  static async open(port: number): Promise<RawRtmpClient> {
    const socket = connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return new RawRtmpClient(socket);
  }

  /** Does the plain (unsigned) handshake: C0 C1, waits for S0 S1 S2, sends C2. */
  async handshake(timeoutMs = 5000): Promise<void> {
    const c1 = randomBytes(1536);
    c1.writeUInt32BE(0, 0);
    c1.writeUInt32BE(0, 4);
    this.socket.write(Buffer.concat([Buffer.from([3]), c1]));
    await this.#until(() => this.#buffer.length >= 1 + 1536 * 2, timeoutMs, "the server's handshake");
    const s1 = this.#buffer.subarray(1, 1 + 1536);
    this.socket.write(Buffer.from(s1));
    this.#buffer = this.#buffer.subarray(1 + 1536 * 2);
    this.#handshaken = true;
    this.#parse();
  }

  /** Writes raw bytes (chunks, junk…). Never throws: a closed socket just drops them. */
  send(bytes: Buffer): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(bytes);
  }

  /** Sends `connect` with the given command object (or any AMF0 value in its place). */
  connect(commandObject: Amf0Value): void {
    this.send(commandChunks("connect", 1, [commandObject]));
  }

  /** Sends `createStream`, then `play` of `streamName` (any AMF0 value) on stream 1. */
  play(streamName: Amf0Value): void {
    this.send(commandChunks("createStream", 2, [null]));
    this.send(commandChunks("play", 0, [null, streamName], 1));
  }

  /** Media messages (audio, video, data) received so far, and their payload bytes. */
  mediaBytes(): number {
    return this.messages
      .filter((m) => m.type === MESSAGE_TYPE.audio || m.type === MESSAGE_TYPE.video)
      .reduce((sum, m) => sum + m.payload.length, 0);
  }

  /** Status codes (`NetStream.Play.Start`, `NetConnection.Connect.Success`…) seen in command messages. */
  statusCodes(): string[] {
    const codes: string[] = [];
    for (const m of this.messages) {
      if (m.type !== MESSAGE_TYPE.invoke) continue;
      for (const match of m.payload.toString("latin1").matchAll(/(Net(?:Stream|Connection)\.[A-Za-z.]+)/g)) codes.push(match[1]!);
    }
    return codes;
  }

  /** Resolves once a status code matching `pattern` has been received. */
  async waitForStatus(pattern: RegExp, timeoutMs = 5000): Promise<string> {
    await this.#until(() => this.statusCodes().some((c) => pattern.test(c)), timeoutMs, `a status matching ${pattern}`);
    return this.statusCodes().find((c) => pattern.test(c))!;
  }

  /** Resolves true when the server closes the connection within `timeoutMs`, else false. */
  async closesWithin(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const result = await Promise.race([this.closed.then(() => true), timedOut]);
    clearTimeout(timer);
    return result;
  }

  /** A reason when the server's byte stream could not be parsed as RTMP (a test may want none). */
  get parseError(): string | undefined {
    return this.#parseError;
  }

  destroy(): void {
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    if (this.#handshaken) this.#parse();
    for (const wake of this.#waiters.splice(0)) wake();
  }

  async #until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (this.socket.destroyed && !condition()) throw new Error(`connection closed before ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Reassembles messages from the server's chunk stream (formats 0-3, extended timestamps). */
  #parse(): void {
    for (;;) {
      const buffer = this.#buffer;
      if (buffer.length < 1) return;
      const fmt = buffer[0]! >> 6;
      let csid = buffer[0]! & 0x3f;
      let offset = 1;
      if (csid === 0) {
        if (buffer.length < 2) return;
        csid = 64 + buffer[1]!;
        offset = 2;
      } else if (csid === 1) {
        if (buffer.length < 3) return;
        csid = 64 + buffer[1]! + buffer[2]! * 256;
        offset = 3;
      }
      const headerSize = [11, 7, 3, 0][fmt]!;
      if (buffer.length < offset + headerSize) return;
      const partial = this.#partial.get(csid);
      const last = partial ?? this.#lastHeader.get(csid);
      let timestamp = last?.timestamp ?? 0;
      let length = last?.length ?? 0;
      let type = last?.type ?? 0;
      let streamId = last?.streamId ?? 0;
      if (fmt <= 2) timestamp = buffer.readUIntBE(offset, 3);
      if (fmt <= 1) {
        length = buffer.readUIntBE(offset + 3, 3);
        type = buffer[offset + 6]!;
      }
      if (fmt === 0) streamId = buffer.readUInt32LE(offset + 7);
      offset += headerSize;
      if (timestamp === 0xffffff) {
        if (buffer.length < offset + 4) return;
        offset += 4;
      }
      const current = partial ?? { type, streamId, length, timestamp, parts: [], have: 0 };
      const take = Math.min(this.#inChunkSize, current.length - current.have);
      if (buffer.length < offset + take) return;
      current.parts.push(buffer.subarray(offset, offset + take));
      current.have += take;
      this.#buffer = buffer.subarray(offset + take);
      this.#lastHeader.set(csid, { type: current.type, streamId: current.streamId, length: current.length, timestamp: current.timestamp });
      if (current.have < current.length) {
        this.#partial.set(csid, current);
        continue;
      }
      this.#partial.delete(csid);
      const payload = Buffer.concat(current.parts);
      if (current.type === MESSAGE_TYPE.setChunkSize && payload.length >= 4) this.#inChunkSize = payload.readUInt32BE(0) & 0x7fffffff;
      this.messages.push({ type: current.type, streamId: current.streamId, payload });
      if (this.#inChunkSize <= 0) {
        this.#parseError = "server set a chunk size of 0";
        return;
      }
    }
  }

  readonly #lastHeader = new Map<number, { length: number; type: number; streamId: number; timestamp: number }>();
}
