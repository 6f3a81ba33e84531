import {
  AMF0_SAMPLES,
  commandChunks,
  connectObject,
  encodeAmf0,
  encodeChunks,
  MESSAGE_TYPE,
  RawRtmpClient,
  type Amf0Value,
} from "../helpers/rtmp-wire.js";
import type { CaseBody, CaseContext } from "./fuzz-case.js";
import type { FuzzRandom } from "./fuzz-random.js";
import { hostileQuery, hostileText } from "./hostile-values.js";
import { randomAmf0 } from "./random-amf.js";
import { rawExchange } from "./raw-exchange.js";
import { runRtmpScript, type RtmpScript } from "./rtmp-attack.js";
import { sleep } from "../helpers/sleep.js";

/**
 * Hostile RTMP for the RTMP port: junk and truncated handshakes; every AMF0 type in every field of
 * connect (the command object itself, app, tcUrl, flashVer), createStream, play and publish; commands
 * out of order; random chunk headers (huge lengths, many chunk stream ids, set-chunk-size 0 and
 * 0x7fffffff); truncated AMF; media messages from a player. A fixed catalogue (known crash vectors
 * first) and a random generator. None of these clients has valid credentials unless the case says so.
 */

type Ctx = CaseContext;
type Send = (client: RawRtmpClient, ctx: Ctx) => void | Promise<void>;

function body(name: string, script: RtmpScript | Send, authorized = false): CaseBody {
  const full: RtmpScript = typeof script === "function" ? { send: script } : script;
  return { name, authorized, run: (ctx, outcome) => runRtmpScript(ctx, outcome, name, full) };
}

/** A player's connect object for the channel's app, with fields replaced (`undefined` entries deleted). */
function connectWith(ctx: Ctx, fields: Record<string, Amf0Value | typeof MISSING>): Record<string, Amf0Value> {
  const object: Record<string, Amf0Value> = { ...connectObject(ctx.ports.rtmp, ctx.app) };
  for (const [key, value] of Object.entries(fields)) {
    if (value === MISSING) delete object[key];
    else object[key] = value;
  }
  return object;
}

/** Marks a connect field to leave out. */
const MISSING = Symbol("missing");

/** The usual player sequence after connect: createStream, then play of `name` on stream 1. */
function createAndPlay(client: RawRtmpClient, name: Amf0Value): void {
  client.play(name);
}

function publish(client: RawRtmpClient, name: Amf0Value, args: readonly Amf0Value[] = ["live"]): void {
  client.send(commandChunks("createStream", 2, [null]));
  client.send(commandChunks("publish", 0, [null, name, ...args], 1));
}

/** An audio and a video message carrying the injection marker, as a hostile client would push them. */
function markedMedia(ctx: Ctx, streamId = 1): Buffer {
  const video = Buffer.concat([Buffer.from([0x17, 0x01, 0, 0, 0]), ctx.injectMarker, ctx.injectMarker]);
  const audio = Buffer.concat([Buffer.from([0xaf, 0x01]), ctx.injectMarker]);
  return Buffer.concat([
    encodeChunks({ csid: 6, type: MESSAGE_TYPE.video, streamId, payload: video, timestamp: 40 }),
    encodeChunks({ csid: 4, type: MESSAGE_TYPE.audio, streamId, payload: audio, timestamp: 40 }),
  ]);
}

/** A chunk header (fmt 0) announcing a message of `length` bytes on `csid`, with no payload. */
function bareHeader(csid: number, length: number, type = MESSAGE_TYPE.invoke): Buffer {
  const basic =
    csid < 64
      ? Buffer.from([csid])
      : csid < 320
        ? Buffer.from([0, csid - 64])
        : Buffer.from([1, (csid - 64) & 0xff, ((csid - 64) >> 8) & 0xff]);
  const header = Buffer.alloc(11);
  header.writeUIntBE(length & 0xffffff, 3, 3);
  header[6] = type;
  return Buffer.concat([basic, header]);
}

function setChunkSize(size: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(size >>> 0);
  return encodeChunks({ csid: 2, type: MESSAGE_TYPE.setChunkSize, streamId: 0, payload });
}

/** AMF0_SAMPLES by name, likeliest to break a field first (a short run covers the head of the matrix). */
const MATRIX_SAMPLE_ORDER = [
  "object",
  "number",
  "null",
  "undefined",
  "strict array",
  "boolean",
  "control characters",
  "empty string",
  "ECMA array",
  "typed object",
  "date",
  "XML",
  "reference",
  "unknown marker",
  "truncated string",
  "NaN",
  "long string",
] as const;

/** The fields of the command sequence each AMF0 sample is put into. */
const MATRIX_FIELDS = [
  "connect command object",
  "connect app",
  "connect tcUrl",
  "connect flashVer",
  "createStream",
  "play stream name",
  "publish stream name",
] as const;

function matrixCase(field: (typeof MATRIX_FIELDS)[number], sample: { name: string; value: Amf0Value }): CaseBody {
  return body(`${field} = ${sample.name}`, (client, ctx) => {
    const value = sample.value;
    switch (field) {
      case "connect command object":
        client.connect(value);
        return createAndPlay(client, ctx.channel);
      case "connect app":
        client.connect(connectWith(ctx, { app: value }));
        return createAndPlay(client, ctx.channel);
      case "connect tcUrl":
        client.connect(connectWith(ctx, { tcUrl: value }));
        return createAndPlay(client, ctx.channel);
      case "connect flashVer":
        client.connect(connectWith(ctx, { flashVer: value }));
        return createAndPlay(client, ctx.channel);
      case "createStream":
        client.connect(connectWith(ctx, {}));
        client.send(commandChunks("createStream", value, [value]));
        return void client.send(commandChunks("play", 0, [null, ctx.channel], 1));
      case "play stream name":
        client.connect(connectWith(ctx, {}));
        return createAndPlay(client, value);
      case "publish stream name":
        client.connect(connectWith(ctx, {}));
        return publish(client, value);
    }
  });
}

/**
 * Catalogue cases run first, in this order (a short run covers them): the review's crash vectors and
 * fail-open bypass, stream injection, and the memory and disk amplifiers. The rest follow in catalogue order.
 */
const FIRST = [
  "connect without tcUrl, then play",
  "connect tcUrl = not a URL",
  "connect without app, then play",
  "play with no stream name argument",
  "connect flashVer = object",
  "play stream name = number",
  "connect flashVer = control characters",
  "channel without credentials (plain refusal)",
  "play then media messages from the player (stream injection)",
  "publish (no sign) then media messages",
  "12 chunk streams each announcing 16 MiB (bounded: 192 MiB of allocations)",
  "16 denied plays, each with a 1 MiB flashVer (statistics growth)",
  "connect without flashVer, then play",
  "set chunk size 0, then connect and play",
] as const;

/** The catalogue with the FIRST cases moved to the front. */
function firstThese(cases: readonly CaseBody[]): CaseBody[] {
  const missing = FIRST.filter((name) => !cases.some((c) => c.name === name));
  if (missing.length > 0) throw new Error(`FIRST names cases the RTMP catalogue does not have: ${missing.join("; ")}`);
  const rank = (c: CaseBody) => {
    const at = (FIRST as readonly string[]).indexOf(c.name);
    return at === -1 ? FIRST.length : at;
  };
  return cases
    .map((c, i) => ({ c, i }))
    .sort((a, b) => rank(a.c) - rank(b.c) || a.i - b.i)
    .map(({ c }) => c);
}

/**
 * Deterministic cases: missing or invalid connect fields, the full AMF0 matrix (every type in every
 * field), commands out of order, media from players, chunk-level abuse, truncated AMF, handshake junk;
 * FIRST decides which run first.
 */
export const RTMP_CATALOGUE: readonly CaseBody[] = firstThese([
  body("connect without tcUrl, then play", (client, ctx) => {
    client.connect(connectWith(ctx, { tcUrl: MISSING }));
    createAndPlay(client, ctx.channel);
  }),
  body("connect tcUrl = not a URL", (client, ctx) => {
    client.connect(connectWith(ctx, { tcUrl: "not a url" }));
    createAndPlay(client, ctx.channel);
  }),
  body("connect without app, then play", (client, ctx) => {
    client.connect(connectWith(ctx, { app: MISSING }));
    createAndPlay(client, ctx.channel);
  }),
  body("connect without flashVer, then play", (client, ctx) => {
    client.connect(connectWith(ctx, { flashVer: MISSING }));
    createAndPlay(client, ctx.channel);
  }),
  body("play with no stream name argument", (client, ctx) => {
    client.connect(connectWith(ctx, {}));
    client.send(commandChunks("createStream", 2, [null]));
    client.send(commandChunks("play", 0, [null], 1));
  }),
  body("channel without credentials (plain refusal)", (client, ctx) => {
    client.connect(connectWith(ctx, {}));
    createAndPlay(client, ctx.channel);
  }),
  body("16 denied plays, each with a 1 MiB flashVer (statistics growth)", {
    waitMs: 100,
    send: async (first, ctx) => {
      const flashVer: Amf0Value = { amf: "long-string", value: "F".repeat(1024 * 1024) };
      first.connect(connectWith(ctx, { flashVer }));
      createAndPlay(first, ctx.channel);
      for (let i = 1; i < 16; i++) {
        const client = await RawRtmpClient.open(ctx.ports.rtmp);
        try {
          await client.handshake(3000);
          client.connect(connectWith(ctx, { flashVer }));
          createAndPlay(client, ctx.channel);
          await client.closesWithin(1000);
          if (client.mediaBytes() > 0) throw new Error(`play ${i + 1} received ${client.mediaBytes()} media bytes`);
        } finally {
          client.destroy();
        }
      }
    },
  }),
  // Sample-major: every field gets the likeliest troublemakers (objects, numbers, null…) first.
  ...MATRIX_SAMPLE_ORDER.flatMap((sampleName) =>
    MATRIX_FIELDS.map((field) =>
      matrixCase(
        field,
        AMF0_SAMPLES.find((s) => s.name === sampleName)!,
      ),
    ),
  ),
  body("play before connect", (client, ctx) => createAndPlay(client, ctx.channel)),
  body("publish before connect", (client, ctx) => publish(client, ctx.channel)),
  body("publish (no sign) then play on the same connection", (client, ctx) => {
    client.connect(connectWith(ctx, {}));
    publish(client, ctx.channel);
    client.send(commandChunks("play", 0, [null, ctx.channel], 1));
  }),
  body("double connect with different apps, then play", (client, ctx) => {
    client.connect(connectWith(ctx, {}));
    client.connect(connectWith(ctx, { app: "other", tcUrl: `rtmp://127.0.0.1:${ctx.ports.rtmp}/other` }));
    createAndPlay(client, ctx.channel);
  }),
  body("connect after play", (client, ctx) => {
    client.connect(connectWith(ctx, {}));
    createAndPlay(client, ctx.channel);
    client.connect(connectWith(ctx, { app: "x" }));
  }),
  body("play twice, then deleteStream and closeStream junk", (client, ctx) => {
    client.connect(connectWith(ctx, {}));
    createAndPlay(client, ctx.channel);
    client.send(commandChunks("play", 0, [null, `${ctx.channel}?token=%ZZ`], 1));
    client.send(commandChunks("deleteStream", 0, [null, "x"], 1));
    client.send(commandChunks("closeStream", 0, [null], 1));
  }),
  body("play then media messages from the player (stream injection)", (client, ctx) => {
    client.connect(connectWith(ctx, {}));
    createAndPlay(client, ctx.channel);
    client.send(markedMedia(ctx));
    client.send(markedMedia(ctx));
  }),
  body("publish (no sign) then media messages", (client, ctx) => {
    client.connect(connectWith(ctx, {}));
    publish(client, ctx.channel);
    client.send(markedMedia(ctx));
  }),
  body("media messages right after connect", (client, ctx) => {
    client.connect(connectWith(ctx, {}));
    client.send(markedMedia(ctx, 0));
  }),
  body("@setDataFrame with junk metadata after play", (client, ctx) => {
    client.connect(connectWith(ctx, {}));
    createAndPlay(client, ctx.channel);
    const payload = Buffer.concat([
      encodeAmf0("@setDataFrame"),
      encodeAmf0("onMetaData"),
      encodeAmf0({ amf: "raw", bytes: Buffer.from([0x03, 0x00]) }),
    ]);
    client.send(encodeChunks({ csid: 5, type: MESSAGE_TYPE.data, streamId: 1, payload }));
  }),
  body("createStream flood (2000)", (client, ctx) => {
    client.connect(connectWith(ctx, {}));
    client.send(Buffer.concat(Array.from({ length: 2000 }, (_, i) => commandChunks("createStream", i, [null]))));
  }),
  body("unknown and odd commands", (client, ctx) => {
    client.connect(connectWith(ctx, {}));
    for (const name of [
      "releaseStream",
      "FCPublish",
      "FCUnpublish",
      "getStreamLength",
      "_checkbw",
      "call",
      "",
      "connect\u0000",
      "__proto__",
      "constructor",
    ]) {
      client.send(commandChunks(name, 3, [null, ctx.channel, { amf: "raw", bytes: Buffer.from([0x0d]) }]));
    }
    createAndPlay(client, ctx.channel);
  }),
  body("command name that is not a string", (client, ctx) => {
    for (const name of [42, null, { a: 1 }, ["connect"]] as Amf0Value[]) {
      client.send(
        encodeChunks({
          csid: 3,
          type: MESSAGE_TYPE.invoke,
          streamId: 0,
          payload: Buffer.concat([encodeAmf0(name), encodeAmf0(1), encodeAmf0(connectWith(ctx, {}))]),
        }),
      );
    }
  }),
  body("AMF3 (type 17) connect with junk", (client, ctx) => {
    const payload = Buffer.concat([
      Buffer.from([0x00]),
      encodeAmf0("connect"),
      encodeAmf0(1),
      encodeAmf0(connectWith(ctx, { flashVer: 7 })),
    ]);
    client.send(encodeChunks({ csid: 3, type: 17, streamId: 0, payload }));
    client.send(encodeChunks({ csid: 3, type: 17, streamId: 0, payload: Buffer.from([0xff, 0x02, 0xff]) }));
    createAndPlay(client, ctx.channel);
  }),
  body("commands on stream id 0xffffffff", (client, ctx) => {
    client.connect(connectWith(ctx, {}));
    client.send(commandChunks("createStream", 2, [null], 0xffffffff));
    client.send(commandChunks("play", 0, [null, ctx.channel], 0xffffffff));
  }),
  ...[0, 1, 0x7fffffff, 0xffffffff].map((size) =>
    body(`set chunk size ${size}, then connect and play`, (client, ctx) => {
      client.send(setChunkSize(size));
      const large = size === 0x7fffffff || size === 0xffffffff;
      const chunkSize = large ? 1 << 20 : 128;
      client.send(
        encodeChunks(
          {
            csid: 3,
            type: MESSAGE_TYPE.invoke,
            streamId: 0,
            payload: Buffer.concat([encodeAmf0("connect"), encodeAmf0(1), encodeAmf0(connectWith(ctx, {}))]),
          },
          chunkSize,
        ),
      );
      client.send(
        encodeChunks(
          {
            csid: 3,
            type: MESSAGE_TYPE.invoke,
            streamId: 0,
            payload: Buffer.concat([encodeAmf0("createStream"), encodeAmf0(2), encodeAmf0(null)]),
          },
          chunkSize,
        ),
      );
      client.send(
        encodeChunks(
          {
            csid: 3,
            type: MESSAGE_TYPE.invoke,
            streamId: 1,
            payload: Buffer.concat([encodeAmf0("play"), encodeAmf0(0), encodeAmf0(null), encodeAmf0(ctx.channel)]),
          },
          chunkSize,
        ),
      );
    }),
  ),
  body("control messages with junk values (window ack 0, peer bandwidth, abort, user control)", (client, ctx) => {
    const u32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n >>> 0);
      return b;
    };
    client.send(encodeChunks({ csid: 2, type: MESSAGE_TYPE.windowAck, streamId: 0, payload: u32(0) }));
    client.send(
      encodeChunks({ csid: 2, type: MESSAGE_TYPE.peerBandwidth, streamId: 0, payload: Buffer.from([0xff, 0xff, 0xff, 0xff, 9]) }),
    );
    client.send(encodeChunks({ csid: 2, type: MESSAGE_TYPE.abort, streamId: 0, payload: u32(12345) }));
    client.send(encodeChunks({ csid: 2, type: MESSAGE_TYPE.userControl, streamId: 0, payload: Buffer.from([0, 3]) }));
    client.send(encodeChunks({ csid: 2, type: MESSAGE_TYPE.setChunkSize, streamId: 0, payload: Buffer.from([1]) }));
    client.connect(connectWith(ctx, {}));
    createAndPlay(client, ctx.channel);
  }),
  body("one message announcing 16 MiB, one chunk sent", (client) =>
    client.send(Buffer.concat([bareHeader(3, 0xffffff), Buffer.alloc(128)])),
  ),
  // One whole chunk each, so the parser moves on to the next chunk stream and allocates for every one.
  body("12 chunk streams each announcing 16 MiB (bounded: 192 MiB of allocations)", (client) => {
    client.send(Buffer.concat(Array.from({ length: 12 }, (_, i) => Buffer.concat([bareHeader(3 + i * 29, 0xffffff), Buffer.alloc(128)]))));
  }),
  body("extended chunk stream ids (2- and 3-byte forms)", (client, ctx) => {
    client.send(
      Buffer.concat([bareHeader(64, 10), Buffer.alloc(10), bareHeader(319, 4), Buffer.alloc(4), bareHeader(65599, 1), Buffer.alloc(1)]),
    );
    client.connect(connectWith(ctx, {}));
  }),
  body("fmt 1, 2 and 3 chunks on chunk streams never opened", (client) => {
    client.send(Buffer.from([0x45, 0, 0, 0, 0, 0, 5, 20, 1, 2, 3, 4, 5]));
    client.send(Buffer.from([0x86, 0, 0, 0, 9, 9, 9]));
    client.send(Buffer.from([0xc7, 1, 2, 3, 4, 5, 6, 7, 8]));
  }),
  body("extended timestamp 0xffffff with a huge delta", (client, ctx) => {
    const payload = Buffer.concat([encodeAmf0("connect"), encodeAmf0(1), encodeAmf0(connectWith(ctx, {}))]);
    const header = Buffer.alloc(12);
    header[0] = 3;
    header.writeUIntBE(0xffffff, 1, 3);
    header.writeUIntBE(payload.length, 4, 3);
    header[7] = MESSAGE_TYPE.invoke;
    client.send(Buffer.concat([header, Buffer.from([0xff, 0xff, 0xff, 0xff]), payload.subarray(0, 128)]));
    client.send(Buffer.from([0x43, 0, 0, 1, 0, 0, 0, 9, 20, 0xff, 0xff, 0xff, 0xff]));
  }),
  body("truncated AMF: string length past the payload", (client) => {
    client.send(
      encodeChunks({
        csid: 3,
        type: MESSAGE_TYPE.invoke,
        streamId: 0,
        payload: Buffer.concat([
          encodeAmf0("connect"),
          encodeAmf0(1),
          Buffer.from([0x03, 0x00, 0x03, 0x61, 0x70, 0x70, 0x02, 0xff, 0xff, 0x6c]),
        ]),
      }),
    );
  }),
  body("truncated AMF: object without end marker", (client) => {
    client.send(
      encodeChunks({
        csid: 3,
        type: MESSAGE_TYPE.invoke,
        streamId: 0,
        payload: Buffer.concat([
          encodeAmf0("connect"),
          encodeAmf0(1),
          Buffer.from([0x03, 0x00, 0x03, 0x61, 0x70, 0x70, 0x02, 0x00, 0x04, 0x6c, 0x69, 0x76, 0x65]),
        ]),
      }),
    );
  }),
  body("truncated AMF: strict and ECMA arrays claiming 2^32-1 items", (client) => {
    client.send(
      encodeChunks({
        csid: 3,
        type: MESSAGE_TYPE.invoke,
        streamId: 0,
        payload: Buffer.concat([encodeAmf0("connect"), encodeAmf0(1), Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x05])]),
      }),
    );
    client.send(
      encodeChunks({
        csid: 3,
        type: MESSAGE_TYPE.invoke,
        streamId: 0,
        payload: Buffer.concat([encodeAmf0("connect"), encodeAmf0(1), Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0x00, 0x01, 0x61])]),
      }),
    );
  }),
  body("AMF objects nested 20,000 deep", (client) => {
    const depth = 20_000;
    const nested = Buffer.concat([
      Buffer.alloc(depth * 4).fill(Buffer.from([0x00, 0x01, 0x61, 0x03])),
      Buffer.alloc(depth * 3).fill(Buffer.from([0x00, 0x00, 0x09])),
    ]);
    client.send(
      encodeChunks(
        {
          csid: 3,
          type: MESSAGE_TYPE.invoke,
          streamId: 0,
          payload: Buffer.concat([encodeAmf0("connect"), encodeAmf0(1), Buffer.from([0x03]), nested]),
        },
        4096,
      ),
    );
  }),
  body("connect split mid-AMF across a long pause", {
    send: async (client, ctx) => {
      const bytes = commandChunks("connect", 1, [connectWith(ctx, {})]);
      client.send(bytes.subarray(0, 40));
      await sleep(300);
      client.send(bytes.subarray(40));
      createAndPlay(client, ctx.channel);
    },
  }),
  ...[
    ["C0 version 6 with C1", Buffer.concat([Buffer.from([6]), Buffer.alloc(1536)])],
    ["C0 version 0xff with C1", Buffer.concat([Buffer.from([0xff]), Buffer.alloc(1536, 0xaa)])],
    ["C0 only", Buffer.from([3])],
    ["C0 and a truncated C1 (100 bytes)", Buffer.concat([Buffer.from([3]), Buffer.alloc(100)])],
    [
      "C0 C1 then a random C2 and junk",
      Buffer.concat([Buffer.from([3]), Buffer.alloc(1536), Buffer.alloc(1536, 7), Buffer.alloc(300, 0xc3)]),
    ],
    ["10 KiB of zeros", Buffer.alloc(10 * 1024)],
    ["an HTTP request on the RTMP port", Buffer.from("GET /live/test.flv HTTP/1.1\r\nHost: a\r\n\r\n", "latin1")],
    ["a TLS ClientHello on the RTMP port", Buffer.from("16030100a5010000a10303" + "00".repeat(32) + "000002002f0100", "hex")],
    ["C0 C1 twice", Buffer.concat([Buffer.from([3]), Buffer.alloc(1536), Buffer.from([3]), Buffer.alloc(1536)])],
  ].map(([name, bytes]) => rawRtmpBody(`handshake junk: ${name as string}`, [bytes as Buffer])),
  body(
    "authorized viewer with hostile connect fields (may play; never a crash)",
    (client, ctx) => {
      client.connect(
        connectWith(ctx, {
          flashVer: "a\r\nX-Evil: 1\u0000",
          tcUrl: `rtmp://127.0.0.1:${ctx.ports.rtmp}/${ctx.app}?x=%ZZ`,
          extra: { amf: "xml", value: "<a/>" },
        }),
      );
      createAndPlay(client, `${ctx.channel}?token=${ctx.viewerToken}`);
    },
    true,
  ),
]);

/** Raw bytes on the RTMP port with no handshake of ours: the server must shrug them off. */
function rawRtmpBody(name: string, steps: Buffer[]): CaseBody {
  return {
    name,
    authorized: false,
    async run(ctx, outcome) {
      const exchange = await rawExchange(ctx.ports.rtmp, steps, { readMs: 600, maxBytes: 64 * 1024 });
      if (exchange.connectFailed) return outcome.note(`${name}: connection failed (${exchange.error ?? "?"})`);
      outcome.note(`${name}: ${exchange.received.length} bytes back, ${exchange.closedByServer ? "closed by the server" : "still open"}`);
    },
  };
}

const COMMANDS = [
  "createStream",
  "play",
  "play",
  "publish",
  "deleteStream",
  "closeStream",
  "releaseStream",
  "FCPublish",
  "getStreamLength",
  "pause",
  "seek",
  "receiveAudio",
] as const;

/** A random RTMP session: maybe junk chunk control, a connect with random fields, random commands, maybe mutated. */
export function randomRtmpCase(random: FuzzRandom): CaseBody {
  const authorized = random.chance(0.1);
  const preamble = random.chance(0.15) ? random.pick([0, 1, 64, 4096, 0x7fffffff, 0xffffffff]) : undefined;
  const connectFields: [string, Amf0Value | typeof MISSING][] = [];
  for (const field of ["app", "tcUrl", "flashVer", "objectEncoding", "swfUrl", "pageUrl"]) {
    if (random.chance(0.35)) connectFields.push([field, random.chance(0.15) ? MISSING : randomAmf0(random)]);
  }
  const connectMode = random.pick(["object", "object", "object", "object", "raw value", "none", "twice"] as const);
  const rawConnectValue = randomAmf0(random);
  const secondApp = hostileText(random);
  const commands = Array.from({ length: random.int(1, 5) }, () => {
    const command = random.pick(COMMANDS);
    const nameRoll = random.next();
    const name: Amf0Value = nameRoll < 0.4 ? `test?${hostileQuery(random)}` : nameRoll < 0.7 ? hostileText(random) : randomAmf0(random);
    return {
      command,
      name,
      transaction: random.chance(0.8) ? random.int(0, 9) : randomAmf0(random),
      streamId: random.chance(0.85) ? 1 : random.pick([0, 2, 0xffffffff]),
      extra: random.chance(0.3) ? [randomAmf0(random)] : [],
    };
  });
  const inject = random.chance(0.15);
  const mutate = random.pick(["none", "none", "none", "none", "truncate", "flip", "junk"] as const);
  const mutation = {
    at: random.next(),
    flips: Array.from({ length: random.int(1, 6) }, () => [random.next(), random.int(0, 255)] as const),
    junk: random.bytes(random.int(1, 512)),
  };
  const fieldNames = connectFields.map(([k, v]) => `${k}=${v === MISSING ? "missing" : describe(v)}`).join(",");
  const name = `random RTMP ${connectMode} connect{${fieldNames}} ${commands.map((c) => `${c.command}(${describe(c.name)})`).join(" ")}${inject ? " +media" : ""}${preamble === undefined ? "" : ` chunk=${preamble}`}${mutate === "none" ? "" : ` ${mutate}`}${authorized ? " [authorized]" : ""}`;
  return body(
    name,
    (client, ctx) => {
      const parts: Buffer[] = [];
      if (preamble !== undefined) parts.push(setChunkSize(preamble));
      const object = connectWith(ctx, Object.fromEntries(connectFields));
      if (connectMode === "object" || connectMode === "twice") parts.push(commandChunks("connect", 1, [object]));
      if (connectMode === "twice") parts.push(commandChunks("connect", 1, [{ ...object, app: secondApp }]));
      if (connectMode === "raw value") parts.push(commandChunks("connect", 1, [rawConnectValue]));
      for (const c of commands) {
        const streamName = authorized && c.command === "play" ? `${ctx.channel}?token=${ctx.viewerToken}` : c.name;
        parts.push(commandChunks(c.command, c.transaction, [null, streamName, ...c.extra], c.streamId));
      }
      if (inject) parts.push(markedMedia(ctx));
      let bytes = Buffer.concat(parts);
      if (mutate === "truncate") bytes = bytes.subarray(0, Math.floor(mutation.at * bytes.length));
      if (mutate === "flip") {
        bytes = Buffer.from(bytes);
        for (const [at, value] of mutation.flips) bytes[Math.floor(at * bytes.length)] = value;
      }
      if (mutate === "junk") bytes = Buffer.concat([bytes.subarray(0, Math.floor(mutation.at * bytes.length)), mutation.junk]);
      client.send(bytes);
    },
    authorized,
  );
}

/** A short label for an AMF0 value in a case name. */
function describe(value: Amf0Value): string {
  if (typeof value === "string") return JSON.stringify(value.length > 16 ? `${value.slice(0, 16)}…(${value.length})` : value);
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return `[${value.length}]`;
  const special = value as { amf?: string };
  return special.amf ?? "{…}";
}
