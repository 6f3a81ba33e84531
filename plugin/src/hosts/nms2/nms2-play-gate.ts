import type { ViewerSession } from "../../core/viewer-session.js";
import { admit } from "../../gate/admission.js";
import type { GateContext } from "../../gate/gate-context.js";
import type { InputProblem } from "../../gate/input-problem.js";
import { loggableInput } from "../../gate/loggable-input.js";
import { playFieldsProblem } from "../../gate/play-fields.js";
import { isLoopback, parseIpAddress } from "../../net/ip-address.js";
import {
  closeConnection, flvPlayTarget, isConnectionGone, playRequestOf, protocolOf, refusePlay, rtmpPlayTarget, socketOf,
  type Nms2PlaySession, type Nms2PlayTarget,
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
 * nothing for the play: no status, no header), admits the viewer (`admit`: session, chain, limits) and
 * calls NMS's own `onPlay` only on allow. Everything NMS does in a play (its `prePlay` event, its
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
    this.#ctx.registry.end(viewer, "viewer-left");
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

  /** Admits a held play; `playNow` runs NMS's own `onPlay` on allow. */
  #hold(session: Nms2PlaySession, target: Nms2PlayTarget, streamId: number, playNow: () => void): void {
    const problem = playFieldsProblem({ app: target.app, channel: target.channel });
    if (problem !== null) return this.#refuseBadInput(session, problem, streamId);
    const ctx = this.#ctx;
    const originals = this.#originals;
    const protocol = protocolOf(session);
    const socket = socketOf(session);
    let sentBefore: number | undefined; // bytes on the socket when the media started
    let viewer: ViewerSession | undefined;
    this.#held.add(session);
    admit(ctx, {
      start: {
        protocol, app: target.app, channel: target.channel, ip: session.ip ?? "", userAgent: "",
        transport: {
          bytesOut: () => (sentBefore === undefined || socket === undefined ? 0 : socket.bytesWritten - sentBefore),
          close: () => closeConnection(session),
        },
      },
      requestOf: (opened) => {
        viewer = opened;
        this.#viewers.set(session.id, opened);
        const request = playRequestOf(session, target, opened.id, ctx.addressRules.trustedProxies);
        ctx.registry.describe(opened, { ip: request.ip });
        const fieldProblem = playFieldsProblem({ userAgent: request.userAgent, host: request.host, origin: request.origin });
        if (fieldProblem !== null) {
          this.#refuseBadInput(session, fieldProblem, streamId, opened.id);
          return null;
        }
        ctx.registry.describe(opened, { userAgent: request.userAgent });
        return request;
      },
      isGone: () => isConnectionGone(session),
      isStillGated: () => this.#originals === originals && originals !== undefined,
      refuse: (decision) => refusePlay(session, decision, streamId),
      play: (playing) => {
        this.#held.delete(session);
        sentBefore = socket?.bytesWritten ?? 0;
        playNow();
        if (nmsPlays(session)) return;
        // NMS's own checks still apply after ours: its `auth.play` sign, an app's `prePlay` reject.
        ctx.log.warn({ event: "gate.nms_refused", sessionId: playing.id }, "node-media-server refused an allowed play");
        ctx.registry.end(playing, "denied");
        closeConnection(session);
      },
    }).catch((error: unknown) => {
      ctx.log.error({ event: "gate.failed", sessionId: viewer?.id, err: error }, "play gate failed; refusing the viewer");
      if (viewer !== undefined) ctx.registry.end(viewer, "denied");
      safely(() => closeConnection(session));
    }).finally(() => this.#held.delete(session));
  }

  #refuseBadInput(session: Nms2PlaySession, problem: InputProblem, streamId: number, sessionId?: string): void {
    this.#ctx.log.info(
      { event: "gate.bad_input", protocol: protocolOf(session), sessionId, field: problem.field, reason: problem.reason, input: loggableInput(problem.value) },
      "refused a play with a malformed field",
    );
    safely(() => refusePlay(session, { verdict: "deny", step: "default", reason: `malformed ${problem.field}`, latencyMs: 0 }, streamId));
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


