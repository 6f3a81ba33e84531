import { expect } from "chai";
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { rawStatusLine } from "../helpers/raw-http.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WebSocket } from "ws";
import { Context, Flv, Rtmp, type BaseSession } from "../helpers/nms4-internals.js";
import { hasFfmpeg, playWithFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor, wsReadFor } from "../helpers/flv-clients.js";
import { startNms, startPublishingNms, type NmsInstance } from "../helpers/nms-instance.js";
import {
  commandChunks,
  connectObject,
  encodeAmf0,
  encodeChunks,
  MESSAGE_TYPE,
  RawRtmpClient,
  type Amf0Value,
} from "../helpers/rtmp-wire.js";
import { TokenAuthorizer } from "../helpers/token-authorizer.js";
import { waitUntil } from "../helpers/wait-for.js";

const STREAM = "shield";

/** Polls a condition every 10 ms until it holds or the deadline passes. */
const until = (what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> => waitUntil(what, condition, timeoutMs, 10);

/**
 * The first chunk of a message (fmt 0, 2-byte basic header, default chunk size 128): the header
 * announcing `length` bytes, and the chunk's share of a zero payload. NMS allocates the message's
 * whole buffer as soon as it reads past the header.
 */
function firstChunk(csid: number, type: number, length: number, streamId = 0): Buffer {
  const header = Buffer.alloc(13);
  header[0] = 0; // fmt 0, chunk stream id in the next byte (64 + n)
  header[1] = csid - 64;
  header.writeUIntBE(0, 2, 3);
  header.writeUIntBE(length, 5, 3);
  header[8] = type;
  header.writeUInt32LE(streamId, 9);
  return Buffer.concat([header, Buffer.alloc(Math.min(length, 128))]);
}

/** An AMF0 command whose payload is given raw (for malformed AMF). */
function rawCommand(payload: Buffer): Buffer {
  return encodeChunks({ csid: 3, type: MESSAGE_TYPE.invoke, streamId: 0, payload });
}

/** A video sequence header that says "EVIL": what an injected frame would leave in the stream. */
const EVIL_VIDEO = Buffer.concat([Buffer.from([0x17, 0x00, 0, 0, 0]), Buffer.from("EVIL")]);

const rawHttp = (port: number, text: string) => rawStatusLine(port, text, 3000);

interface RtmpVector {
  name: string;
  /** What the client sends after the handshake. */
  send(client: RawRtmpClient, port: number): void | Promise<void>;
  /** The `field` of the expected `rtmp.refused` line. */
  field: string;
  /** A refused play gets NetStream.Play.Failed before the close. */
  playFailed?: boolean;
}

const connected = (client: RawRtmpClient, port: number, extra: Record<string, Amf0Value> = {}) =>
  client.connect(connectObject(port, "live", extra));
const longString = (chars: number): Amf0Value => ({ amf: "long-string", value: "x".repeat(chars) });

/** Every way of breaking an RTMP command or chunk stream that NMS 4.4.3 crashed on, or grew memory for. */
const RTMP_VECTORS: RtmpVector[] = [
  { name: "connect whose flashVer is an object", send: (c, p) => connected(c, p, { flashVer: { a: 1 } }), field: "connect.flashVer" },
  { name: "connect whose flashVer is a boolean", send: (c, p) => connected(c, p, { flashVer: true }), field: "connect.flashVer" },
  {
    name: "connect whose flashVer has control characters",
    send: (c, p) => connected(c, p, { flashVer: "LNX\r\nX-Evil: 1\u0000" }),
    field: "connect.flashVer",
  },
  { name: "connect whose flashVer is 1 MiB", send: (c, p) => connected(c, p, { flashVer: longString(1 << 20) }), field: "message.length" },
  {
    name: "connect whose flashVer is over 256 characters",
    send: (c, p) => connected(c, p, { flashVer: "F".repeat(300) }),
    field: "connect.flashVer",
  },
  {
    name: "connect without tcUrl",
    send: (c, p) => {
      const { tcUrl: _dropped, ...rest } = connectObject(p);
      c.connect(rest);
    },
    field: "connect.tcUrl",
  },
  { name: "connect whose tcUrl is not a URL", send: (c, p) => connected(c, p, { tcUrl: "not a url" }), field: "connect.tcUrl" },
  { name: "connect whose tcUrl is a number", send: (c, p) => connected(c, p, { tcUrl: 5 }), field: "connect.tcUrl" },
  {
    name: "connect whose tcUrl is an http URL",
    send: (c, p) => connected(c, p, { tcUrl: "http://127.0.0.1/live" }),
    field: "connect.tcUrl",
  },
  {
    name: "connect whose tcUrl has a newline",
    send: (c, p) => connected(c, p, { tcUrl: `rtmp://127.0.0.1:${p}/live\r\nX: 1` }),
    field: "connect.tcUrl",
  },
  { name: "connect whose command object is null", send: (c) => c.connect(null), field: "connect.cmdObj" },
  { name: "connect whose command object is a number", send: (c) => c.connect(7), field: "connect.cmdObj" },
  { name: "connect whose command object is a strict array", send: (c) => c.connect(["live"]), field: "connect.cmdObj" },
  { name: "connect without app", send: (c, p) => connected(c, p, { app: undefined }), field: "connect.app" },
  { name: "connect whose app carries a query", send: (c, p) => connected(c, p, { app: "live?x=1" }), field: "connect.app" },
  {
    name: "connect whose objectEncoding is a 70000-character string",
    send: (c, p) => connected(c, p, { objectEncoding: longString(70_000) }),
    field: "message.length",
  },
  {
    name: "connect whose objectEncoding is a string",
    send: (c, p) => connected(c, p, { objectEncoding: "3" }),
    field: "connect.objectEncoding",
  },
  {
    name: "createStream whose transaction id is an object",
    send: (c) => c.send(commandChunks("createStream", { k: "v" }, [null])),
    field: "command.transId",
  },
  {
    name: "a second connect",
    send: (c, p) => {
      connected(c, p);
      connected(c, p);
    },
    field: "connect",
  },
  {
    name: "a command named constructor (NMS's command table lookup throws)",
    send: (c) => c.send(commandChunks("constructor", 1, [null])),
    field: "command",
  },
  {
    name: "a truncated AMF0 number",
    send: (c) => c.send(rawCommand(Buffer.from([0x02, 0x00, 0x07, ...Buffer.from("connect"), 0x00, 0x3f]))),
    field: "command",
  },
  { name: "an unknown AMF0 marker as command name", send: (c) => c.send(rawCommand(Buffer.from([0x0d, 0x00]))), field: "command" },
  // NMS handles an empty message when the next chunk arrives.
  {
    name: "an empty command message",
    send: (c, p) => {
      c.send(rawCommand(Buffer.alloc(0)));
      connected(c, p);
    },
    field: "command",
  },
  { name: "play before connect", send: (c) => c.play(STREAM), field: "command" },
  { name: "publish before connect", send: (c) => c.send(commandChunks("publish", 0, [null, "evil"], 1)), field: "command" },
  {
    name: "play whose stream name is a number",
    send: (c, p) => {
      connected(c, p);
      c.play(7);
    },
    field: "play.streamName",
    playFailed: true,
  },
  {
    name: "play whose stream name is null",
    send: (c, p) => {
      connected(c, p);
      c.play(null);
    },
    field: "play.streamName",
    playFailed: true,
  },
  {
    name: "play whose stream name is an object",
    send: (c, p) => {
      connected(c, p);
      c.play({ a: "b" });
    },
    field: "play.streamName",
    playFailed: true,
  },
  {
    name: "play whose stream name has a space",
    send: (c, p) => {
      connected(c, p);
      c.play("a b");
    },
    field: "play.streamName",
    playFailed: true,
  },
  {
    name: "play whose stream name is empty",
    send: (c, p) => {
      connected(c, p);
      c.play("");
    },
    field: "play.streamName",
    playFailed: true,
  },
  {
    name: "play whose query has a raw control character",
    send: (c, p) => {
      connected(c, p);
      c.play(`${STREAM}?token=a\r\nX-Evil: 1`);
    },
    field: "play.streamName",
    playFailed: true,
  },
  {
    name: "play whose name is over 1024 characters",
    send: (c, p) => {
      connected(c, p);
      c.play("n".repeat(1025));
    },
    field: "play.streamName",
    playFailed: true,
  },
  {
    name: "play whose query is over 8 KiB",
    send: (c, p) => {
      connected(c, p);
      c.play(`${STREAM}?q=${"q".repeat(8200)}`);
    },
    field: "play.streamName",
    playFailed: true,
  },
  {
    name: "publish whose stream name is a number",
    send: (c, p) => {
      connected(c, p);
      c.send(commandChunks("publish", 0, [null, 7], 1));
    },
    field: "publish.streamName",
  },
  {
    name: "set chunk size 0",
    send: (c) => c.send(encodeChunks({ csid: 2, type: MESSAGE_TYPE.setChunkSize, streamId: 0, payload: Buffer.alloc(4) })),
    field: "setChunkSize",
  },
  {
    name: "set chunk size with the top bit set",
    send: (c) => c.send(encodeChunks({ csid: 2, type: MESSAGE_TYPE.setChunkSize, streamId: 0, payload: Buffer.from([0x80, 0, 0, 0]) })),
    field: "setChunkSize",
  },
  {
    name: "set chunk size of 2 bytes",
    send: (c) => c.send(encodeChunks({ csid: 2, type: MESSAGE_TYPE.setChunkSize, streamId: 0, payload: Buffer.alloc(2) })),
    field: "setChunkSize",
  },
  {
    name: "window acknowledgement size of 0 bytes",
    send: (c, p) => {
      c.send(encodeChunks({ csid: 2, type: MESSAGE_TYPE.windowAck, streamId: 0, payload: Buffer.alloc(0) }));
      connected(c, p);
    },
    field: "windowAckSize",
  },
  {
    name: "a command message announced at 16 MiB",
    send: (c) => c.send(firstChunk(64, MESSAGE_TYPE.invoke, 0xffffff)),
    field: "message.length",
  },
  {
    name: "200 chunk streams",
    send: (c) => c.send(Buffer.concat(Array.from({ length: 200 }, (_, i) => firstChunk(64 + i, MESSAGE_TYPE.userControl, 6)))),
    field: "chunkStreamId",
  },
  {
    name: "command buffers of 60 KiB on eight chunk streams (over 256 KiB for a viewer)",
    send: (c) => c.send(Buffer.concat(Array.from({ length: 8 }, (_, i) => firstChunk(64 + i, MESSAGE_TYPE.invoke, 60 * 1024)))),
    field: "message.length",
  },
  {
    name: "video from a connection that does not publish",
    send: (c, p) => {
      connected(c, p);
      c.send(encodeChunks({ csid: 6, type: MESSAGE_TYPE.video, streamId: 1, payload: EVIL_VIDEO }));
    },
    field: "message.type",
  },
  {
    name: "metadata from a connection that does not publish",
    send: (c, p) => {
      connected(c, p);
      c.send(encodeChunks({ csid: 6, type: MESSAGE_TYPE.data, streamId: 1, payload: Buffer.from([0x02, 0, 1, 0x61]) }));
    },
    field: "message.type",
  },
];

describe("input shield: malformed input is refused at the edge, before node-media-server parses it", function () {
  this.timeout(30000);
  let nms: NmsInstance;
  let dir: string;
  /** Every field of every session the registry opened, as it received them. */
  const opened: Record<string, unknown>[] = [];
  /** The same for every session the registry ended. */
  const ended: Record<string, unknown>[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  before(async function () {
    if (!hasFfmpeg) this.skip();
    process.on("unhandledRejection", onUnhandled);
    dir = mkdtempSync(join(tmpdir(), "va-shield-"));
    nms = await startPublishingNms(
      { auth: { defaultAction: "deny" }, stats: { file: join(dir, "stats.db"), flushIntervalMs: 100 } },
      `live/${STREAM}`,
      { authorizers: [new TokenAuthorizer()] },
    );
    nms.auth.sessions.subscribe("opened", (s) =>
      opened.push({ app: s.app, channel: s.channel, ip: s.ip, userAgent: s.userAgent, protocol: s.protocol }),
    );
    nms.auth.sessions.subscribe("ended", (s) =>
      ended.push({ app: s.app, channel: s.channel, ip: s.ip, userAgent: s.userAgent, protocol: s.protocol, reason: s.endReason }),
    );
    await until("the publisher's video sequence header", () => Context.broadcasts.get(`/live/${STREAM}`)?.rtmpVideoHeader != null, 10000);
  });

  after(async () => {
    process.off("unhandledRejection", onUnhandled);
    await nms?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  afterEach(() => expect(unhandled, "unhandled rejections").to.deep.equal([]));

  /** An authorized RTMP viewer gets media: the process is alive and serving. */
  async function servesAuthorizedViewer(): Promise<void> {
    const viewer = await RawRtmpClient.open(nms.rtmpPort);
    try {
      await viewer.handshake();
      viewer.connect(connectObject(nms.rtmpPort));
      viewer.play(`${STREAM}?token=good`);
      await until("media for an authorized viewer", () => viewer.mediaBytes() > 0);
    } finally {
      viewer.destroy();
    }
  }

  /** Runs `action` and returns the one new log line with `event` it caused. */
  async function newLine(event: string, action: () => Promise<void>): Promise<Record<string, unknown>> {
    const before = nms.logs.events(event).length;
    await action();
    await until(`a ${event} line`, () => nms.logs.events(event).length > before);
    const lines = nms.logs.events(event).slice(before);
    expect(lines, `one ${event} line`).to.have.length(1);
    return lines[0]!;
  }

  describe("RTMP: each vector gets its connection closed, 0 media bytes and one rtmp.refused line", () => {
    for (const vector of RTMP_VECTORS) {
      it(vector.name, async () => {
        const client = await RawRtmpClient.open(nms.rtmpPort);
        const line = await newLine("rtmp.refused", async () => {
          await client.handshake();
          await vector.send(client, nms.rtmpPort);
          expect(await client.closesWithin(3000), "the server closed the connection").to.equal(true);
        });
        expect(line).to.include({ field: vector.field, ip: "127.0.0.1", level: 30 });
        expect(JSON.stringify(line).length, "a short line, never the value in full").to.be.below(600);
        expect(client.mediaBytes(), "media bytes to the refused connection").to.equal(0);
        if (vector.playFailed) expect(client.statusCodes()).to.include("NetStream.Play.Failed");
        expect(client.statusCodes()).to.not.include("NetStream.Play.Start");
        await servesAuthorizedViewer();
      });
    }

    it("a viewer cannot inject frames into the stream while its check runs", async () => {
      const broadcast = Context.broadcasts.get(`/live/${STREAM}`)!;
      const client = await RawRtmpClient.open(nms.rtmpPort);
      await client.handshake();
      connected(client, nms.rtmpPort);
      await client.waitForStatus(/Connect\.Success/);
      const line = await newLine("rtmp.refused", async () => {
        // play and a video message in one segment: NMS parses both before any check can answer.
        client.socket.cork();
        client.play(STREAM);
        client.send(encodeChunks({ csid: 6, type: MESSAGE_TYPE.video, streamId: 1, payload: EVIL_VIDEO }));
        client.socket.uncork();
        expect(await client.closesWithin(3000)).to.equal(true);
      });
      expect(line).to.include({ field: "message.type", reason: "media from a connection that is not publishing" });
      expect(broadcast.rtmpVideoHeader?.includes("EVIL") ?? false, "the stream's video header").to.equal(false);
      expect(client.mediaBytes()).to.equal(0);
      await servesAuthorizedViewer();
    });

    it("a second play on a playing connection is refused (NMS would strand the first subscription)", async () => {
      const client = await RawRtmpClient.open(nms.rtmpPort);
      await client.handshake();
      connected(client, nms.rtmpPort);
      client.play(`${STREAM}?token=good`);
      await until("media", () => client.mediaBytes() > 0);
      const line = await newLine("rtmp.refused", async () => {
        client.send(commandChunks("play", 0, [null, "other"], 1));
        expect(await client.closesWithin(3000)).to.equal(true);
      });
      expect(line).to.include({ field: "play", reason: "second play or publish on one connection" });
      await until("the session to end", () => nms.auth.sessions.list().every((s) => s.state !== "playing" || s.protocol !== "rtmp"));
      await servesAuthorizedViewer();
    });

    it("a publisher's message buffers are bounded (three video messages announced at 16 MiB)", async () => {
      const client = await RawRtmpClient.open(nms.rtmpPort);
      await client.handshake();
      connected(client, nms.rtmpPort);
      client.send(commandChunks("createStream", 2, [null]));
      client.send(commandChunks("publish", 3, [null, "shieldpub", "live"], 1));
      await client.waitForStatus(/Publish\.Start/);
      const before = process.memoryUsage().arrayBuffers;
      const line = await newLine("rtmp.refused", async () => {
        client.send(Buffer.concat([4, 5, 6].map((n) => firstChunk(64 + n, MESSAGE_TYPE.video, 0xffffff, 1))));
        expect(await client.closesWithin(3000)).to.equal(true);
      });
      expect(line).to.include({ field: "message.length" });
      expect(process.memoryUsage().arrayBuffers - before, "bytes allocated").to.be.below(40 * 1024 * 1024);
      await servesAuthorizedViewer();
    });

    it("a publisher's metadata that NMS's AMF0 decoder throws on is refused", async () => {
      const client = await RawRtmpClient.open(nms.rtmpPort);
      await client.handshake();
      connected(client, nms.rtmpPort);
      client.send(commandChunks("createStream", 2, [null]));
      client.send(commandChunks("publish", 3, [null, "shieldmeta", "live"], 1));
      await client.waitForStatus(/Publish\.Start/);
      const line = await newLine("rtmp.refused", async () => {
        // decodeAmf0Data looks the name up in a plain object: "constructor" finds Object's.
        client.send(
          encodeChunks({
            csid: 6,
            type: MESSAGE_TYPE.data,
            streamId: 1,
            payload: Buffer.concat([encodeAmf0("constructor"), encodeAmf0({ a: 1 })]),
          }),
        );
        expect(await client.closesWithin(3000)).to.equal(true);
      });
      expect(line).to.include({ field: "data", reason: "malformed AMF0" });
      await servesAuthorizedViewer();
    });

    it("250 chunk headers announcing 16 MiB each allocate nothing", async () => {
      const before = process.memoryUsage().arrayBuffers;
      const client = await RawRtmpClient.open(nms.rtmpPort);
      await newLine("rtmp.refused", async () => {
        await client.handshake();
        client.send(Buffer.concat(Array.from({ length: 250 }, (_, i) => firstChunk(64 + i, MESSAGE_TYPE.invoke, 0xffffff))));
        expect(await client.closesWithin(3000)).to.equal(true);
      });
      expect(process.memoryUsage().arrayBuffers - before, "bytes allocated").to.be.below(8 * 1024 * 1024);
    });
  });

  describe("HTTP-FLV: paths NMS throws on get a 400 before express sees them", () => {
    const badPaths = [
      "/live/a%20b.flv",
      "/live/a.b.flv",
      "/live/a.flv.flv",
      "/live%2Fx/a.flv",
      "/live/a%2Fb.flv",
      "/live/%ZZ.flv",
      "/live/a%00.flv",
      `/live/${STREAM}.flv#x`,
      `/live/${"n".repeat(1100)}.flv`,
      `/live/${STREAM}.flv?q=${"q".repeat(8200)}`,
    ];
    for (const path of badPaths) {
      it(`GET ${path.slice(0, 40)}`, async () => {
        const line = await newLine("flv.refused", async () => {
          const result = await httpGetFor(`http://127.0.0.1:${nms.httpPort}${path}`, 1000);
          expect(result.status).to.equal(400);
          expect(result.body.toString()).to.equal("Bad Request\n");
          expect(result.headers.connection).to.equal("close");
        });
        expect(line).to.include({ protocol: "http-flv", ip: "127.0.0.1" });
        await servesAuthorizedViewer();
      });
    }

    it("an absolute-form request target (which express also routes) gets a 400", async () => {
      const line = await newLine("flv.refused", async () => {
        const status = await rawHttp(nms.httpPort, "GET http://h/live/a%20b.flv HTTP/1.1\r\nHost: h\r\n\r\n");
        expect(status).to.equal("HTTP/1.1 400 Bad Request");
      });
      expect(line).to.include({ field: "target" });
      await servesAuthorizedViewer();
    });

    it("leaves well-formed and non-FLV paths to NMS: upper-case .FLV and a trailing slash play, other paths 404", async () => {
      for (const path of [`/live/${STREAM}.FLV?token=good`, `/live/${STREAM}.flv/?token=good`]) {
        const result = await httpGetFor(`http://127.0.0.1:${nms.httpPort}${path}`, 500);
        expect(result.status, path).to.equal(200);
        expect(result.bytes, path).to.be.greaterThan(1000);
      }
      expect((await httpGetFor(`http://127.0.0.1:${nms.httpPort}/a/b/c.flv`, 500)).status).to.equal(404);
    });

    it("bytes an HTTP-FLV viewer sends are refused, not parsed: the connection is cut", async () => {
      const line = await newLine("flv.refused", async () => {
        const request = `GET /live/${STREAM}.flv?token=good HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n\r\nFLV\x01\x05\0\0\0\x09\0\0\0\0`;
        const status = await rawHttp(nms.httpPort, request);
        expect(status).to.equal("HTTP/1.1 200 OK");
      });
      expect(line).to.include({ protocol: "http-flv", field: "body" });
      await servesAuthorizedViewer();
    });
  });

  describe("the last resort: whatever NMS throws on one connection's input cuts that connection, not the process", () => {
    it("an HTTP-FLV publisher whose script tag NMS's broadcast throws on is cut and logged as nms.input_threw", async () => {
      const script = Buffer.concat([encodeAmf0("constructor"), encodeAmf0({ a: 1 })]);
      const tagHeader = Buffer.alloc(11);
      tagHeader[0] = 18;
      tagHeader.writeUIntBE(script.length, 1, 3);
      const previousTagSize = Buffer.alloc(4);
      previousTagSize.writeUInt32BE(11 + script.length);
      const body = Buffer.concat([Buffer.from("FLV\x01\x05\0\0\0\x09\0\0\0\0", "latin1"), tagHeader, script, previousTagSize]);
      const line = await newLine("nms.input_threw", async () => {
        const started = Date.now();
        // The body announces 100000 bytes and sends fewer: only a cut ends this request before rawHttp gives up (3 s).
        await rawHttp(
          nms.httpPort,
          `POST /live/shieldflvpub.flv HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n${body.toString("latin1")}`,
        );
        expect(Date.now() - started, "ms until the server cut the connection").to.be.below(2500);
      });
      expect(line).to.include({ protocol: "http-flv", ip: "127.0.0.1", level: 40 });
      expect((line.error as Record<string, unknown>).type).to.equal("TypeError");
      await servesAuthorizedViewer();
    });
  });

  describe("WS-FLV: upgrades NMS throws on, or names no stream with, get a 400 before ws accepts", () => {
    for (const path of [
      "/live/a%20b.flv",
      "/live",
      "/",
      "/live/",
      "/live/a.b",
      "/live/a/b.flv",
      `/live/${STREAM}.flv?q=${"q".repeat(8200)}`,
    ]) {
      it(`ws://…${path.slice(0, 40)}`, async () => {
        const line = await newLine("flv.refused", async () => {
          const result = await wsReadFor(`ws://127.0.0.1:${nms.httpPort}${path}`, 2000);
          expect(result.opened).to.equal(false);
          expect(result.error).to.match(/Unexpected server response: 400/);
          expect(result.bytes).to.equal(0);
        });
        expect(line).to.include({ protocol: "ws-flv", ip: "127.0.0.1" });
        await servesAuthorizedViewer();
      });
    }

    it("a message a WS-FLV viewer sends is refused, not parsed: the connection is closed", async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${nms.httpPort}/live/${STREAM}.flv?token=good`);
      const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
      ws.on("error", () => undefined);
      let bytes = 0;
      ws.on("message", (data: Buffer) => (bytes += data.length));
      await new Promise((resolve) => ws.once("open", resolve));
      await until("media", () => bytes > 0);
      const line = await newLine("flv.refused", async () => {
        ws.send(Buffer.alloc(64, 0x46));
        expect(await closed).to.equal(4403);
      });
      expect(line).to.include({ protocol: "ws-flv", field: "body" });
      await servesAuthorizedViewer();
    });
  });

  describe("the play gate checks again (defence in depth behind the shield)", () => {
    /** A hand-made NMS RTMP session, as a bug elsewhere might hand the gate one. */
    function rtmpSession(streamName: unknown, connectCmdObj: Record<string, unknown>) {
      const statuses: string[] = [];
      let ended = false;
      const session = {
        id: `fake-${Math.random()}`,
        ip: "127.0.0.1:5000",
        protocol: "rtmp",
        streamApp: "live",
        streamName,
        streamPath: `/live/${STREAM}`,
        streamQuery: {},
        outBytes: 0,
        isPublisher: false,
        rtmp: { streamId: 1, connectCmdObj, sendStatusMessage: (_sid: number, _level: string, code: string) => statuses.push(code) },
        socket: { destroyed: false, end: () => (ended = true), destroy: () => (ended = true) },
      };
      return { session: session as unknown as BaseSession, statuses, ended: () => ended };
    }

    it("refuses a session whose stream name is not a string, before the registry opens anything", async () => {
      const broadcast = Context.broadcasts.get(`/live/${STREAM}`)!;
      const openedBefore = opened.length;
      const fake = rtmpSession(undefined, connectObject(nms.rtmpPort));
      const line = await newLine("gate.bad_input", async () => {
        expect(broadcast.postPlay(fake.session)).to.equal(null);
      });
      expect(line).to.include({ field: "channel", reason: "not a string" });
      expect(fake.statuses).to.deep.equal(["NetStream.Play.Failed"]);
      expect(fake.ended()).to.equal(true);
      expect(opened.length, "sessions opened").to.equal(openedBefore);
      expect(broadcast.subscribers.has((fake.session as { id: string }).id)).to.equal(false);
    });

    for (const [name, flashVer] of [
      ["an object", { a: 1 }],
      ["control characters", "a\u0007b"],
      ["over 512 characters", "u".repeat(600)],
    ] as const) {
      it(`refuses a session whose user agent (flashVer) is ${name}, without asking the chain`, async () => {
        const broadcast = Context.broadcasts.get(`/live/${STREAM}`)!;
        const fake = rtmpSession(STREAM, { ...connectObject(nms.rtmpPort), flashVer });
        const line = await newLine("gate.bad_input", async () => {
          expect(broadcast.postPlay(fake.session)).to.equal(null);
        });
        expect(line).to.include({ field: "userAgent" });
        expect(fake.statuses).to.deep.equal(["NetStream.Play.Failed"]);
        expect(ended.at(-1)).to.include({ reason: "denied", userAgent: "", channel: STREAM, ip: "127.0.0.1" });
      });
    }
  });

  describe("afterwards", () => {
    it("the registry and the ledger only ever received strings", async () => {
      expect(opened.length, "sessions seen").to.be.greaterThan(20);
      for (const fields of [...opened, ...ended]) {
        for (const [key, value] of Object.entries(fields))
          expect(typeof value, `${key} of ${JSON.stringify(fields).slice(0, 80)}`).to.equal("string");
      }
      nms.auth.ledger!.flush();
      const db = new Database(join(dir, "stats.db"), { readonly: true });
      try {
        const types = db
          .prepare(
            `SELECT DISTINCT typeof(app) AS app, typeof(channel) AS channel, typeof(ip) AS ip,
          typeof(protocol) AS protocol, typeof(user_agent) AS userAgent FROM sessions`,
          )
          .all();
        expect(types).to.deep.equal([{ app: "text", channel: "text", ip: "text", protocol: "text", userAgent: "text" }]);
        const rows = db.prepare("SELECT COUNT(*) AS n FROM sessions").get() as { n: number };
        expect(rows.n).to.be.greaterThan(20);
      } finally {
        db.close();
      }
    });

    it("real players still play through the shield: ffmpeg over RTMP, HTTP-FLV and WS-FLV", async () => {
      const rtmp = await playWithFfmpeg(`rtmp://127.0.0.1:${nms.rtmpPort}/live/${STREAM}?token=good`, { seconds: 1, decode: true });
      expect(rtmp.frames, rtmp.stderr.slice(-300)).to.be.greaterThan(5);
      const flv = await httpGetFor(`http://127.0.0.1:${nms.httpPort}/live/${STREAM}.flv?token=good`, 500);
      expect(flv.status).to.equal(200);
      expect(flv.bytes).to.be.greaterThan(1000);
      const ws = await wsReadFor(`ws://127.0.0.1:${nms.httpPort}/live/${STREAM}.flv?token=good`, 500);
      expect(ws.opened).to.equal(true);
      expect(ws.bytes).to.be.greaterThan(1000);
      const lastResort = nms.logs.events("nms.input_threw").map((l) => l.protocol);
      expect(lastResort, "only the one test above reached the last-resort catch").to.deep.equal(["http-flv"]);
    });
  });
});

describe("input shield: attach and detach", () => {
  it("detach gives NMS back its own methods and listeners", async () => {
    const originals = {
      parserData: Rtmp.prototype.parserData,
      invokeHandler: Rtmp.prototype.invokeHandler,
      flv: Flv.prototype.parserData,
      set: Context.sessions.set,
    };
    const nms = await startNms();
    const http = nms.nms.httpServer.httpServer!;
    expect(Rtmp.prototype.parserData).to.not.equal(originals.parserData);
    expect(Flv.prototype.parserData).to.not.equal(originals.flv);
    const wsUpgrade = http.listeners("upgrade");
    await nms.auth.detach();
    expect(Rtmp.prototype.parserData).to.equal(originals.parserData);
    expect(Rtmp.prototype.invokeHandler).to.equal(originals.invokeHandler);
    expect(Flv.prototype.parserData).to.equal(originals.flv);
    expect(Context.sessions.set).to.equal(originals.set);
    expect(http.listeners("upgrade")).to.not.deep.equal(wsUpgrade);
    expect(http.listeners("upgrade").map((l) => l.name)).to.not.include("shieldedUpgrade");
    expect(http.listeners("request").map((l) => l.name)).to.not.include("shieldedRequest");
    await nms.stop();
  });
});
