import type Rtmp from "node-media-server/src/protocol/rtmp.js";
import type BaseSession from "node-media-server/src/session/base_session.js";
import { NmsIncompatibleError } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import { parseNmsSessionAddress } from "../../net/ip-address.js";
import type { InputProblem } from "../../gate/input-problem.js";
import { errorSummary } from "../../gate/error-summary.js";
import { loggableInput } from "../../gate/loggable-input.js";
import type { NmsSessionOwners } from "./nms-session-owners.js";
import type { Nms4Internals } from "./nms4-internals.js";
import { rtmpCommandProblem, type DecodedRtmpCommand, type RtmpCommandState } from "./rtmp-command-check.js";
import { controlMessageProblem, rtmpMessageProblem, RTMP_MESSAGE_LIMITS } from "./rtmp-message-limits.js";

/** The prototype methods of NMS's Rtmp class the shield wraps, in the order the parser calls them. */
const HOOKED = ["parserData", "packetParse", "packetAlloc", "controlHandler", "invokeHandler", "dataHandler"] as const;
type Hooked = (typeof HOOKED)[number];
type Originals = { [K in Hooked]: Rtmp[K] };

/** RTMP message types the shield looks into. */
const TYPE_SET_CHUNK_SIZE = 1;
const TYPE_WINDOW_ACK_SIZE = 5;
const TYPE_FLEX_MESSAGE = 17;
const TYPE_DATA = 18;
/** How long a refused player's connection may stay half-closed so `NetStream.Play.Failed` reaches it. */
const DESTROY_AFTER_MS = 1000;

/** One connection's progress through the command rules, and whether the shield cut it. */
interface ConnectionState extends RtmpCommandState {
  refused: boolean;
}

/**
 * Thrown from inside NMS's chunk parser once a connection is refused: it is the only way to stop
 * NMS's parse loop in the middle of a buffer. The `parserData` wrapper catches it; it never leaves.
 */
class InputRefused extends Error {}

/**
 * RtmpInputShield checks what an RTMP client sends before node-media-server 4.4.3 acts on it, by
 * wrapping the methods of NMS's `Rtmp` class (protocol/rtmp.js) where each piece of input is first
 * read: `packetParse` (a chunk header: chunk stream count), `packetAlloc` (a message's announced type
 * and size, before NMS allocates its buffer), `controlHandler` (set-chunk-size), `invokeHandler`
 * (every command, decoded and checked by `rtmpCommandProblem`) and `dataHandler` (a publisher's
 * metadata, decoded first). Malformed input gets one `rtmp.refused` log line and the connection is
 * destroyed (a refused `play` gets `NetStream.Play.Failed` first).
 * `parserData` is wrapped in a last-resort try/catch: whatever NMS throws while handling one
 * connection's bytes cuts that connection (`nms.input_threw`) instead of the process.
 *
 * Only server-side connections are checked: NMS's relay client (`RtmpClient`) extends `Rtmp` and
 * inherits `packetParse`/`packetAlloc`, and passes through untouched.
 */
export class RtmpInputShield {
  readonly #owners: NmsSessionOwners;
  readonly #log: Logger;
  readonly #nms4: Nms4Internals;
  readonly #states = new WeakMap<Rtmp, ConnectionState>();
  #originals: Originals | undefined;

  constructor(owners: NmsSessionOwners, log: Logger, nms4: Nms4Internals) {
    this.#owners = owners;
    this.#log = log;
    this.#nms4 = nms4;
  }

  /** Wraps the prototype methods; throws NmsIncompatibleError (changing nothing) when one is missing. */
  attach(): void {
    if (this.#originals !== undefined) return;
    const proto = this.#nms4.Rtmp.prototype;
    for (const name of HOOKED) {
      if (!Object.hasOwn(proto, name) || typeof proto[name] !== "function")
        throw new NmsIncompatibleError(`Rtmp.prototype.${name} is not a function`);
    }
    const originals: Originals = {
      parserData: proto.parserData,
      packetParse: proto.packetParse,
      packetAlloc: proto.packetAlloc,
      controlHandler: proto.controlHandler,
      invokeHandler: proto.invokeHandler,
      dataHandler: proto.dataHandler,
    };
    const shield = this;
    proto.parserData = function shieldedParserData(this: Rtmp, buffer: Buffer) {
      return shield.#parse(this, buffer, originals.parserData);
    };
    proto.packetParse = function shieldedPacketParse(this: Rtmp) {
      originals.packetParse.call(this);
      if (isServerSide(this, proto)) shield.#afterChunkHeader(this);
    };
    proto.packetAlloc = function shieldedPacketAlloc(this: Rtmp) {
      if (isServerSide(this, proto)) shield.#beforeAllocation(this);
      originals.packetAlloc.call(this);
    };
    proto.controlHandler = function shieldedControlHandler(this: Rtmp) {
      if (isServerSide(this, proto)) shield.#beforeControl(this);
      originals.controlHandler.call(this);
    };
    proto.invokeHandler = function shieldedInvokeHandler(this: Rtmp) {
      if (!isServerSide(this, proto)) return originals.invokeHandler.call(this);
      shield.#invoke(this, originals.invokeHandler);
    };
    proto.dataHandler = function shieldedDataHandler(this: Rtmp) {
      if (isServerSide(this, proto)) shield.#beforeData(this);
      originals.dataHandler.call(this);
    };
    this.#originals = originals;
  }

  /** Gives NMS's `Rtmp` its own methods back. */
  detach(): void {
    const originals = this.#originals;
    if (originals === undefined) return;
    Object.assign(this.#nms4.Rtmp.prototype, originals);
    this.#originals = undefined;
  }

  #parse(rtmp: Rtmp, buffer: Buffer, original: Rtmp["parserData"]): string | null {
    const state = this.#stateOf(rtmp);
    if (state.refused) return null; // bytes still in flight from a cut connection
    try {
      return original.call(rtmp, buffer);
    } catch (error) {
      if (!(error instanceof InputRefused)) this.#threw(rtmp, state, error);
      // With no owner to destroy, ask NMS to end the socket itself.
      return this.#owners.ownerOf(rtmp) === undefined ? "refused by the input shield" : null;
    }
  }

  #afterChunkHeader(rtmp: Rtmp): void {
    if (rtmp.inPackets.size > RTMP_MESSAGE_LIMITS.chunkStreams) {
      this.#refuse(rtmp, {
        field: "chunkStreamId",
        reason: `more than ${RTMP_MESSAGE_LIMITS.chunkStreams} chunk streams on one connection`,
        value: rtmp.parserPacket.header.cid,
      });
    }
  }

  #beforeAllocation(rtmp: Rtmp): void {
    const packet = rtmp.parserPacket;
    let connectionCapacity = 0;
    for (const each of rtmp.inPackets.values()) connectionCapacity += each.capacity;
    const problem = rtmpMessageProblem({
      type: packet.header.type,
      length: packet.header.length,
      publishing: this.#owners.ownerOf(rtmp)?.isPublisher === true,
      streamCapacity: packet.capacity,
      connectionCapacity,
    });
    if (problem !== null) this.#refuse(rtmp, problem);
  }

  #beforeControl(rtmp: Rtmp): void {
    const { type, length } = rtmp.parserPacket.header;
    if (type !== TYPE_SET_CHUNK_SIZE && type !== TYPE_WINDOW_ACK_SIZE) return;
    // NMS reads a 32-bit value from the payload whatever the message length.
    const value = length >= 4 ? rtmp.parserPacket.payload.readUInt32BE(0) : undefined;
    const problem = controlMessageProblem(type, length, value);
    if (problem !== null) this.#refuse(rtmp, problem);
  }

  /**
   * A publisher's AMF0 data message (metadata): NMS's broadcast decodes it with `decodeAmf0Data` over
   * the whole message buffer and throws on a name such as `constructor` or a strict array running
   * past the end. Decoding it first, the same way, turns that into a refusal.
   */
  #beforeData(rtmp: Rtmp): void {
    const packet = rtmp.parserPacket;
    if (packet.header.type !== TYPE_DATA) return;
    try {
      this.#nms4.decodeAmf0Data(packet.payload);
    } catch {
      this.#refuse(rtmp, { field: "data", reason: "malformed AMF0" });
    }
  }

  #invoke(rtmp: Rtmp, original: Rtmp["invokeHandler"]): void {
    const packet = rtmp.parserPacket;
    const offset = packet.header.type === TYPE_FLEX_MESSAGE ? 1 : 0;
    let command: DecodedRtmpCommand;
    try {
      // The same decoder NMS runs next, so the check sees exactly what NMS will act on.
      command = this.#nms4.decodeAmf0Cmd(packet.payload.subarray(offset, packet.header.length));
    } catch {
      return this.#refuse(rtmp, { field: "command", reason: "malformed AMF0" });
    }
    const state = this.#stateOf(rtmp);
    const problem = rtmpCommandProblem(command, state);
    if (problem !== null) return this.#refuse(rtmp, problem, command.cmd === "play" && state.connected);
    original.call(rtmp);
    if (command.cmd === "connect") state.connected = true;
    else if (command.cmd === "play" || command.cmd === "publish") state.streamCommand = command.cmd;
  }

  /** Logs the refusal, cuts the connection and stops NMS's parser (never returns). */
  #refuse(rtmp: Rtmp, problem: InputProblem, playFailed = false): never {
    const state = this.#stateOf(rtmp);
    state.refused = true;
    const session = this.#owners.ownerOf(rtmp);
    this.#log.info(
      { event: "rtmp.refused", ip: addressOf(session), field: problem.field, reason: problem.reason, input: loggableInput(problem.value) },
      "refused malformed RTMP input; connection closed",
    );
    if (playFailed) {
      safely(() => rtmp.sendStatusMessage(rtmp.parserPacket.header.stream_id, "error", "NetStream.Play.Failed", "Bad request"));
      const socket = session?.socket;
      socket?.end();
      if (socket !== undefined) setTimeout(() => socket.destroy(), DESTROY_AFTER_MS).unref();
    } else {
      session?.socket?.destroy();
    }
    throw new InputRefused(problem.reason);
  }

  #threw(rtmp: Rtmp, state: ConnectionState, error: unknown): void {
    state.refused = true;
    const session = this.#owners.ownerOf(rtmp);
    this.#log.warn(
      { event: "nms.input_threw", protocol: "rtmp", ip: addressOf(session), error: errorSummary(error) },
      "node-media-server threw on a connection's input; that connection was closed",
    );
    session?.socket?.destroy();
  }

  #stateOf(rtmp: Rtmp): ConnectionState {
    let state = this.#states.get(rtmp);
    if (state === undefined) {
      state = { connected: false, streamCommand: undefined, refused: false };
      this.#states.set(rtmp, state);
    }
    return state;
  }
}

/** A server-side connection's parser is exactly an `Rtmp`; NMS's relay client is a subclass. */
function isServerSide(rtmp: Rtmp, proto: Rtmp): boolean {
  return Object.getPrototypeOf(rtmp) === proto;
}

function addressOf(session: BaseSession | undefined): string {
  if (session === undefined) return "";
  return parseNmsSessionAddress(session.ip)?.text ?? "";
}

function safely(action: () => void): void {
  try {
    action();
  } catch {
    // The connection is being cut anyway.
  }
}
