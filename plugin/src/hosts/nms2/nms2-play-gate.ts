import type { ViewerSession } from "../../core/viewer-session.js";
import { admit, refuseBadInput } from "../../gate/admission.js";
import type { ConnectionPort } from "../../gate/connection-port.js";
import { endAdmission } from "../../gate/session-end.js";
import type { GateContext } from "../../gate/gate-context.js";
import type { InputProblem } from "../../gate/input-problem.js";
import { isLoopback, parseIpAddress } from "../../net/ip-address.js";
import {
  closeConnection,
  flvPlayTarget,
  isConnectionGone,
  playFieldsOf,
  protocolOf,
  refusePlay,
  rtmpPlayTarget,
  socketOf,
  type Nms2PlaySession,
  type Nms2PlayTarget,
} from "./nms2-connection.js";
import type { Nms2FlvSession, Nms2Internals, Nms2RtmpSession } from "./nms2-internals.js";
import type { NmsChildren } from "./own-children.js";

type RtmpOnPlay = Nms2RtmpSession["onPlay"];
type FlvOnPlay = Nms2FlvSession["onPlay"];

/**
 * Nms2PlayGate holds every NMS 2.7 play until the chain has allowed it.
 *
 * NMS 2.7 emits `prePlay` synchronously and does not wait for its listeners: `onPlay` of
 * `NodeRtmpSession` and `NodeFlvSession` emits it, then answers the play and sends the GOP cache in the
 * same turn. So the gate wraps `onPlay` on both prototypes: the wrapper returns at once (NMS has sent
 * nothing for the play: no status, no header), admits the viewer through the admission pipeline (`admit`,
 * with the play as its `ConnectionPort`) and calls NMS's own `onPlay` only on allow. Everything NMS does in a play (its `prePlay` event, its
 * `auth.play` sign check, idle players that wait for a publisher) then happens as before, after our
 * verdict. NMS's own ffmpeg children (trans, relay) are let through without a session, on proof
 * (`NmsChildren`).
 */
export class Nms2PlayGate {
  readonly #ctx: GateContext;
  readonly #nms: Nms2Internals;
  readonly #children: NmsChildren;
  /** Viewers by NMS session id, until NMS ends the session. */
  readonly #viewers = new Map<string, ViewerSession>();
  /** Sessions whose play is held for the chain. */
  readonly #held = new WeakSet<Nms2PlaySession>();
  #originals: { rtmp: RtmpOnPlay; flv: FlvOnPlay } | undefined;
  readonly #onDone = (id: unknown) => {
    const viewer = typeof id === "string" ? this.#viewers.get(id) : undefined;
    if (viewer === undefined) return;
    this.#viewers.delete(id as string);
    endAdmission(this.#ctx.registry, viewer, { kind: "viewer-left" });
  };

  constructor(ctx: GateContext, nms: Nms2Internals, children: NmsChildren) {
    this.#ctx = ctx;
    this.#nms = nms;
    this.#children = children;
  }

  attach(): void {
    const rtmpProto = this.#nms.NodeRtmpSession.prototype;
    const flvProto = this.#nms.NodeFlvSession.prototype;
    const originals = { rtmp: rtmpProto.onPlay, flv: flvProto.onPlay };
    this.#originals = originals;
    const gate = this; // the wrappers run with NMS's session as `this`
    rtmpProto.onPlay = function gatedRtmpPlay(this: Nms2RtmpSession, invokeMessage) {
      gate.#rtmpPlay(this, invokeMessage, originals.rtmp);
    };
    flvProto.onPlay = function gatedFlvPlay(this: Nms2FlvSession) {
      gate.#flvPlay(this, originals.flv);
    };
    this.#nms.context.nodeEvent.on("donePlay", this.#onDone);
    this.#nms.context.nodeEvent.on("doneConnect", this.#onDone);
  }

  /** Gives NMS its own `onPlay` back. Viewers mid-check are refused when their verdict comes. */
  detach(): void {
    const originals = this.#originals;
    if (originals === undefined) return;
    this.#originals = undefined;
    this.#nms.NodeRtmpSession.prototype.onPlay = originals.rtmp;
    this.#nms.NodeFlvSession.prototype.onPlay = originals.flv;
    this.#nms.context.nodeEvent.off("donePlay", this.#onDone);
    this.#nms.context.nodeEvent.off("doneConnect", this.#onDone);
  }

  #rtmpPlay(session: Nms2RtmpSession, invokeMessage: { streamName?: unknown }, original: RtmpOnPlay): void {
    if (typeof invokeMessage.streamName !== "string") return; // NMS ignores such a play too
    // The play's stream id is read from the parser's current packet, which moves on while the chain runs.
    const streamId = session.parserPacket.header.stream_id;
    const playNow = () => withStreamId(session, streamId, () => original.call(session, invokeMessage));
    if (this.#held.has(session) || session.isPlaying || session.isIdling) {
      session.sendStatusMessage(streamId, "error", "NetStream.Play.BadConnection", "Connection already playing");
      return;
    }
    const target = rtmpPlayTarget(session, invokeMessage.streamName);
    // Only a loopback peer can be NMS's own child: remote plays never cost a look into /proc.
    if (isLoopbackPeer(session.ip) && this.#children.owns(session.socket)) {
      this.#ctx.log.debug({ event: "gate.nms_child", path: target.streamPath }, "let NMS's own ffmpeg play");
      return playNow();
    }
    this.#hold(session, target, streamId, playNow);
  }

  #flvPlay(session: Nms2FlvSession, original: FlvOnPlay): void {
    if (this.#held.has(session) || session.isPlaying || session.isIdling) return;
    const target = flvPlayTarget(session);
    if (target === null) {
      return this.#refuseBadInput(session, { field: "channel", reason: "not /<app>/<channel>", value: session.playStreamPath }, 0);
    }
    this.#hold(session, target, 0, () => original.call(session));
  }

  /** Admits a held play through the admission pipeline; `playNow` runs NMS's own `onPlay` on allow. */
  #hold(session: Nms2PlaySession, target: Nms2PlayTarget, streamId: number, playNow: () => void): void {
    let port: ConnectionPort;
    try {
      port = this.#portOf(session, target, streamId, playNow);
    } catch (error) {
      this.#ctx.log.error({ event: "gate.failed", protocol: protocolOf(session), err: error }, "admission failed; refusing the viewer");
      return safely(() => closeConnection(session));
    }
    this.#held.add(session);
    void admit(this.#ctx, port).finally(() => this.#held.delete(session));
  }

  /** The play as a connection port: NMS 2.7's session, its fields decoded once, resumed through NMS's own `onPlay`. */
  #portOf(session: Nms2PlaySession, target: Nms2PlayTarget, streamId: number, playNow: () => void): ConnectionPort {
    const originals = this.#originals;
    const socket = socketOf(session);
    let sentBefore: number | undefined; // bytes on the socket when the media started
    return {
      protocol: protocolOf(session),
      app: target.app,
      channel: target.channel,
      checksPlayFields: true,
      fields: playFieldsOf(session, target, this.#ctx.addressRules.trustedProxies),
      transport: {
        bytesOut: () => (sentBefore === undefined || socket === undefined ? 0 : socket.bytesWritten - sentBefore),
        close: () => closeConnection(session),
      },
      opened: (viewer) => this.#viewers.set(session.id, viewer),
      isGone: () => isConnectionGone(session),
      isStillGated: () => this.#originals === originals && originals !== undefined,
      refuse: (decision) => refusePlay(session, decision, streamId),
      cut: () => safely(() => closeConnection(session)),
      play: () => {
        this.#held.delete(session);
        sentBefore = socket?.bytesWritten ?? 0;
        playNow();
        // NMS's own checks still apply after ours: its `auth.play` sign, an app's `prePlay` reject.
        return nmsPlays(session) ? null : "";
      },
    };
  }

  /** Refuses a play NMS 2.7 could not even name (an FLV path that is not `/<app>/<channel>`). */
  #refuseBadInput(session: Nms2PlaySession, problem: InputProblem, streamId: number): void {
    refuseBadInput(
      this.#ctx,
      { protocol: protocolOf(session), fields: { ip: session.ip ?? "" }, refuse: (decision) => refusePlay(session, decision, streamId) },
      problem,
    );
  }
}

/** True when NMS went on with a play we allowed: it plays, or waits for the stream's publisher. */
function nmsPlays(session: Nms2PlaySession): boolean {
  if (!session.isStarting || isConnectionGone(session)) return false;
  if (session.isPlaying || session.isIdling) return true;
  return false;
}

/**
 * Runs NMS's RTMP `onPlay` as if the play command were the packet being parsed: NMS reads the play's
 * stream id from `parserPacket`, which by now holds a later packet. The parser's packet is put back at once.
 */
function withStreamId(session: Nms2RtmpSession, streamId: number, action: () => void): void {
  const current = session.parserPacket;
  session.parserPacket = { ...current, header: { ...current.header, stream_id: streamId } };
  try {
    action();
  } finally {
    session.parserPacket = current;
  }
}

function isLoopbackPeer(ip: string | undefined): boolean {
  const address = ip === undefined ? null : parseIpAddress(ip);
  return address !== null && isLoopback(address);
}

function safely(action: () => void): void {
  try {
    action();
  } catch {
    // The connection is already broken; nothing more to do.
  }
}
