import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import NodeMediaServer from "node-media-server";
import { WebSocket, WebSocketServer } from "ws";
import { NmsIncompatibleError } from "../../plugin/src/core/errors.js";
import { WS_MESSAGE_BOUNDS, WsMessageBound } from "../../plugin/src/hosts/ws-message-bound.js";
import { attachViewerAuth } from "../../plugin/src/index.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";
import { clientFrame, closeCodeOf, readServerFrames, WS_OPCODE } from "../fuzz/ws-frames.js";
import { hasFfmpeg, testPatternEncoding, testPatternInputs } from "../helpers/ffmpeg.js";
import { wsReadFor } from "../helpers/flv-clients.js";
import { NMS_LINES, startLineNms, startNms2, type LineNms } from "../helpers/nms-instance.js";
import { waitFor } from "../helpers/wait-for.js";

const MIB = 1024 * 1024;
/** What ws buffered before: a whole message up to 100 MiB. The attack announces that much. */
const ANNOUNCED_BYTES = 100 * MIB;
/** How much of the frame each attacking connection sends (without the bound, ws holds all of it). */
const TRICKLED_BYTES = 16 * MIB;

/** The garbage collector, so RSS is read after what the server dropped is freed (what it still holds stays). */
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;
/**
 * Memory after a full collection: RSS, and the bytes of Buffers (`arrayBuffers`, where ws keeps a
 * message's fragments). RSS alone can mislead in a process that freed memory just before (the allocator
 * reuses it without growing, or hands it back), so the Buffer bytes are checked too.
 */
async function settledMemory(): Promise<{ rss: number; buffers: number }> {
  // V8 frees ArrayBuffer memory on a concurrent sweeper after a collection: collect, let it run, collect again.
  for (let i = 0; i < 3; i++) {
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const { rss, arrayBuffers } = process.memoryUsage();
  return { rss, buffers: arrayBuffers };
}

/** A raw WebSocket client that announced one oversized frame and sends its payload. */
interface FrameAttack {
  readonly socket: Socket;
  /** Bytes of the frame's payload written. */
  sentBytes(): number;
  /** The close code of the server's close frame, once one arrived. */
  closeCode(): number | undefined;
  closed(): boolean;
}

/**
 * Upgrades `path` on `port` (as a viewer, or with `protocol` as sub-protocol), announces a single
 * binary frame of `announcedBytes`, then writes up to `sendBytes` of it in 64 KiB chunks, honouring
 * back-pressure, until all is sent or the server closes. The socket is left open for the caller.
 */
async function attackWithOversizeFrame(
  port: number,
  path: string,
  sendBytes: number,
  protocol?: string,
  announcedBytes = ANNOUNCED_BYTES,
): Promise<FrameAttack> {
  const socket = connect(port, "127.0.0.1");
  socket.on("error", () => undefined); // the server may cut us mid-write; that is the point
  let received = Buffer.alloc(0);
  let upgraded = false;
  let closed = false;
  let sent = 0;
  socket.on("close", () => (closed = true));
  const answered = new Promise<void>((resolve, reject) => {
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (upgraded) return;
      const end = received.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = received.subarray(0, end).toString();
      if (!head.startsWith("HTTP/1.1 101")) return reject(new Error(`no upgrade: ${head.split("\r\n")[0]}`));
      upgraded = true;
      received = received.subarray(end + 4);
      resolve();
    });
    socket.on("close", () => reject(new Error("closed before the upgrade")));
  });
  await new Promise<void>((resolve) => socket.once("connect", resolve));
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n` +
      (protocol === undefined ? "" : `Sec-WebSocket-Protocol: ${protocol}\r\n`) +
      "\r\n",
  );
  await answered;
  // The frame header with its masking key, and no payload yet: the payload follows in chunks.
  socket.write(clientFrame(WS_OPCODE.binary, Buffer.alloc(0), { declaredLength: announcedBytes }));
  const chunk = Buffer.alloc(64 * 1024, 0x41);
  while (sent < sendBytes && !closed && !socket.destroyed) {
    const flushed = socket.write(chunk);
    sent += chunk.length;
    if (!flushed) {
      await new Promise<void>((resolve) => {
        const done = () => {
          socket.off("drain", done);
          socket.off("close", done);
          resolve();
        };
        socket.on("drain", done);
        socket.on("close", done);
      });
    }
  }
  return {
    socket,
    sentBytes: () => sent,
    closeCode: () =>
      readServerFrames(received)
        .map(closeCodeOf)
        .find((code) => code !== undefined),
    closed: () => closed,
  };
}

for (const line of NMS_LINES) {
  describe(`WebSocket messages are bounded on NMS ${line} (WS-FLV)`, function () {
    this.timeout(120000);
    let nms: LineNms;
    const STREAM = "wsbound";

    before(async function () {
      if (!hasFfmpeg) this.skip();
      // No publisher yet: the memory measured below is then the attacks', not a live stream's.
      nms = await startLineNms(line, { auth: { defaultAction: "allow" } });
    });
    after(async () => {
      await nms?.stop();
    });

    it(`a viewer announcing a 100 MiB frame is closed (1009) before ws buffers it: three such connections, ${TRICKLED_BYTES / MIB} MiB sent each, RSS grows < 20 MiB, Buffers < 8 MiB`, async () => {
      // The attacks play a stream nobody publishes, so the server's close frame is the only frame they get.
      const idlePath = "/live/nobodyhere.flv";
      // Warm up: one ordinary viewer and one attack first, so the measured ones do not pay for code and buffers set up on the way.
      await wsReadFor(`ws://127.0.0.1:${nms.httpPort}${idlePath}`, 300);
      (await attackWithOversizeFrame(nms.httpPort, idlePath, MIB)).socket.destroy();
      const before = await settledMemory();
      const refusedBefore = nms.logs.events("flv.refused").length;
      const attacks: FrameAttack[] = [];
      try {
        for (let i = 0; i < 3; i++) attacks.push(await attackWithOversizeFrame(nms.httpPort, idlePath, TRICKLED_BYTES));
        const after = await settledMemory();
        const rssGrowthMib = (after.rss - before.rss) / MIB;
        const bufferGrowthMib = (after.buffers - before.buffers) / MIB;
        const measured = `RSS +${rssGrowthMib.toFixed(1)} MiB, Buffers +${bufferGrowthMib.toFixed(1)} MiB; sent ${attacks.map((a) => (a.sentBytes() / MIB).toFixed(1)).join(", ")} MiB`;
        expect(rssGrowthMib, `RSS growth (MiB) with three connections each sending up to 16 MiB of one frame (${measured})`).to.be.below(
          20,
        );
        expect(
          bufferGrowthMib,
          `Buffer bytes held (MiB) with three connections each sending up to 16 MiB of one frame (${measured})`,
        ).to.be.below(8);
        await waitFor("the server to close every attacking connection", () => (attacks.every((a) => a.closed()) ? true : undefined), 10000);
        expect(
          attacks.map((a) => a.closeCode()),
          "ws's close code: message too big",
        ).to.deep.equal([1009, 1009, 1009]);
      } finally {
        for (const attack of attacks) attack.socket.destroy();
      }
      await waitFor("the refusal lines", () => (nms.logs.events("flv.refused").length - refusedBefore >= 3 ? true : undefined), 5000);
      const refusal = nms.logs.events("flv.refused").at(-1)!;
      expect(refusal).to.include({ protocol: "ws-flv", field: "body", ip: "127.0.0.1", maxBytes: WS_MESSAGE_BOUNDS.viewerBytes });
    });

    it("a viewer's message just over the bound is refused; an ordinary WS-FLV viewer still plays", async () => {
      await nms.publishOnly(STREAM);
      const ws = new WebSocket(`ws://127.0.0.1:${nms.httpPort}/live/${STREAM}.flv`);
      const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
      ws.on("error", () => undefined);
      await new Promise((resolve) => ws.once("open", resolve));
      ws.send(Buffer.alloc(WS_MESSAGE_BOUNDS.viewerBytes + 1, 0x46));
      const timedOut = new Promise<string>((resolve) => setTimeout(() => resolve("still open after 10 s"), 10000).unref());
      expect(await Promise.race([closed, timedOut])).to.equal(1009);
      const viewer = await wsReadFor(`ws://127.0.0.1:${nms.httpPort}/live/${STREAM}.flv`, 1500);
      expect(viewer.opened).to.equal(true);
      expect(viewer.bytes, "FLV bytes at an ordinary viewer").to.be.greaterThan(1000);
    });
  });
}

describe("WebSocket messages of a WS-FLV publisher on NMS 4.4.3: bounded at 32 MiB", function () {
  this.timeout(120000);
  let nms: LineNms;
  let flvSample: Buffer;

  before(async function () {
    if (!hasFfmpeg) this.skip();
    nms = await startLineNms("4.4.3", { auth: { defaultAction: "allow" } }); // publishers on loopback are allowed by default
    const dir = mkdtempSync(join(tmpdir(), "va-ws-publish-sample-"));
    const file = join(dir, "sample.flv");
    spawnSync("ffmpeg", [
      "-hide_banner",
      "-loglevel",
      "error",
      ...testPatternInputs("320x240", false),
      "-t",
      "2",
      ...testPatternEncoding({ audio: false }),
      "-f",
      "flv",
      file,
    ]);
    flvSample = readFileSync(file);
    rmSync(dir, { recursive: true, force: true });
    expect(flvSample.length, "the FLV sample").to.be.greaterThan(WS_MESSAGE_BOUNDS.viewerBytes * 4);
  });
  after(async () => {
    await nms?.stop();
  });

  it("a publisher whose message is far over a viewer's bound (the whole FLV recording in one message) publishes to a WS-FLV viewer", async () => {
    const publisher = new WebSocket(`ws://127.0.0.1:${nms.httpPort}/live/wspub.flv`, "post");
    const publisherClosed = new Promise<number>((resolve) => publisher.on("close", (code) => resolve(code)));
    publisher.on("error", () => undefined);
    await new Promise((resolve) => publisher.once("open", resolve));
    await waitFor("the publisher to be NMS's", () => (nms.hasPublisher("wspub") ? true : undefined), 5000);
    const viewer = new WebSocket(`ws://127.0.0.1:${nms.httpPort}/live/wspub.flv`);
    viewer.on("error", () => undefined);
    let viewerBytes = 0;
    viewer.on("message", (data: Buffer) => (viewerBytes += data.length));
    await new Promise((resolve) => viewer.once("open", resolve));
    try {
      // The viewer is admitted asynchronously, and NMS forwards only what arrives after: the recording is
      // sent again (one message each time) until the viewer has had the bulk of one.
      await waitFor(
        "FLV bytes at the viewer",
        () => {
          if (viewerBytes > flvSample.length / 2) return true;
          publisher.send(flvSample);
          return undefined;
        },
        10000,
      );
    } finally {
      viewer.terminate();
    }
    expect(nms.hasPublisher("wspub"), "the publisher is still connected").to.equal(true);
    publisher.close();
    expect(await publisherClosed).to.not.equal(1009);
  });

  it("a publisher announcing a 100 MiB frame is closed (1009) at the publisher bound", async () => {
    const attack = await attackWithOversizeFrame(nms.httpPort, "/live/wspub2.flv", 4 * MIB, "post");
    try {
      await waitFor("the server to close the publisher", () => (attack.closed() ? true : undefined), 10000);
      expect(attack.closeCode()).to.equal(1009);
    } finally {
      attack.socket.destroy();
    }
    await waitFor("the refusal line", () => nms.logs.events("flv.refused").find((l) => l.publisher === true), 5000);
    expect(nms.logs.events("flv.refused").find((l) => l.publisher === true)).to.include({
      protocol: "ws-flv",
      field: "body",
      maxBytes: WS_MESSAGE_BOUNDS.publisherBytes,
    });
  });
});

describe("WebSocket messages of a WS-FLV publisher that NMS 4.4.3 refuses: a viewer's bound", function () {
  this.timeout(60000);
  let nms: LineNms;

  before(async () => {
    nms = await startLineNms("4.4.3", { auth: { defaultAction: "allow" }, publish: { allowIps: ["192.0.2.0/24"] } }); // loopback may not publish
  });
  after(async () => {
    await nms?.stop();
  });

  it("a refused publisher announcing an 8 MiB frame (under a publisher's bound) is refused at the viewer bound, not buffered", async () => {
    const refusedBefore = nms.logs.events("flv.refused").length;
    const attack = await attackWithOversizeFrame(nms.httpPort, "/live/refusedpub.flv", MIB, "post", 8 * MIB);
    try {
      await waitFor("the server to close the refused publisher", () => (attack.closed() ? true : undefined), 10000);
    } finally {
      attack.socket.destroy();
    }
    const refusal = await waitFor(
      "the refusal line",
      () =>
        nms.logs
          .events("flv.refused")
          .slice(refusedBefore)
          .find((l) => l.field === "body"),
      5000,
    );
    expect(refusal).to.include({ protocol: "ws-flv", maxBytes: WS_MESSAGE_BOUNDS.viewerBytes, publisher: false });
  });
});

describe("WsMessageBound proves the ws internals it sets before it changes anything", () => {
  const logger = () => createCapturingLogger().logger;

  it("bounds a ws WebSocketServer: the server's default becomes a viewer's bound, unbound gives its own back", () => {
    const server = new WebSocketServer({ noServer: true });
    try {
      const bound = new WsMessageBound(logger(), () => false);
      bound.bound(server);
      expect(server.options.maxPayload).to.equal(WS_MESSAGE_BOUNDS.viewerBytes);
      expect(server.listenerCount("connection"), "one listener before the host's, one after").to.equal(2);
      bound.unbound();
      expect(server.options.maxPayload).to.equal(100 * MIB);
      expect(server.listenerCount("connection")).to.equal(0);
    } finally {
      server.close();
    }
  });

  it("throws NmsIncompatibleError, changing nothing, for a server without maxPayload or whose receiver keeps its limit elsewhere", () => {
    expect(() => new WsMessageBound(logger(), () => false).bound({})).to.throw(NmsIncompatibleError, /maxPayload/);
    expect(() => new WsMessageBound(logger(), () => false).bound(undefined)).to.throw(NmsIncompatibleError);
    class RenamedLimit extends WebSocket {
      setSocket(...args: unknown[]): void {
        (WebSocket.prototype as unknown as { setSocket(...a: unknown[]): void }).setSocket.apply(this, args);
        const receiver = (this as unknown as { _receiver: Record<string, unknown> })._receiver;
        receiver.maxBytes = receiver._maxPayload; // as a future ws might keep it
        delete receiver._maxPayload;
      }
    }
    const server = new WebSocketServer({ noServer: true, WebSocket: RenamedLimit });
    try {
      expect(() => new WsMessageBound(logger(), () => false).bound(server)).to.throw(NmsIncompatibleError, /_maxPayload/);
      expect(server.options.maxPayload, "unchanged").to.equal(100 * MIB);
      expect(server.listenerCount("connection")).to.equal(0);
    } finally {
      server.close();
    }
  });

  it("attach to NMS 4.4.3 throws NmsIncompatibleError when its ws server is not as expected, and attaches once it is", async () => {
    const store = mkdtempSync(join(tmpdir(), "va-ws-bound-store-"));
    const nms = new NodeMediaServer({ bind: "127.0.0.1", rtmp: { port: "0" }, http: { port: "0" }, store: { path: store } });
    const options = (nms.httpServer.wsServer as { options: { maxPayload?: number } }).options;
    const original = options.maxPayload;
    delete options.maxPayload;
    const httpServer = nms.httpServer as { wsServer?: unknown };
    const wsServer = httpServer.wsServer;
    try {
      expect(() => attachViewerAuth(nms, { log: { level: "silent" } }, { logger: logger() })).to.throw(NmsIncompatibleError, /maxPayload/);
      options.maxPayload = original;
      delete httpServer.wsServer;
      expect(() => attachViewerAuth(nms, { log: { level: "silent" } }, { logger: logger() })).to.throw(
        NmsIncompatibleError,
        /no ws server/,
      );
      httpServer.wsServer = wsServer;
      const auth = attachViewerAuth(nms, { log: { level: "silent" } }, { logger: logger() });
      expect(options.maxPayload).to.equal(WS_MESSAGE_BOUNDS.viewerBytes);
      await auth.detach();
      expect(options.maxPayload, "detach gives ws its own limit back").to.equal(original);
    } finally {
      rmSync(store, { recursive: true, force: true });
    }
  });

  it("NMS 2.7.4 with the plugin attached after run(): its running ws server is bounded too", async function () {
    this.timeout(60000);
    const nms2 = await startNms2({ auth: { defaultAction: "allow" } }, {}, { attachAfterRun: true });
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${nms2.httpPort}/live/nobody.flv`);
      const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
      ws.on("error", () => undefined);
      await new Promise((resolve) => ws.once("open", resolve));
      ws.send(Buffer.alloc(WS_MESSAGE_BOUNDS.viewerBytes + 1));
      const timedOut = new Promise<string>((resolve) => setTimeout(() => resolve("still open after 10 s"), 10000).unref());
      expect(await Promise.race([closed, timedOut])).to.equal(1009);
    } finally {
      await nms2.stop();
    }
  });
});
