import type BroadcastServer from "node-media-server/src/server/broadcast_server.js";
import type BaseSession from "node-media-server/src/session/base_session.js";
import { NmsIncompatibleError } from "../../core/errors.js";
import type { ViewerSession } from "../../core/viewer-session.js";
import type { Protocol } from "../../core/auth-request.js";
import { admit } from "../../gate/admission.js";
import type { ConnectionPort, RequestFields } from "../../gate/connection-port.js";
import type { Decision } from "../../core/decision.js";
import { endAdmission } from "../../gate/session-end.js";
import type { GateContext } from "../../gate/gate-context.js";
import { closeConnection, isConnectionGone, protocolOf, refusePlay, releaseViewerTagBuffer } from "./nms-connection.js";
import { playFieldsOf } from "./nms-play-request.js";
import { hookMapSet } from "./map-set-hook.js";
import type { Nms4Internals } from "./nms4-internals.js";
import type { PublishHook, PublishWatcher } from "../host-adapter.js";
import { PublishGate } from "./publish-gate.js";

type PlayFn = (session: BaseSession) => string | null;
type DoneFn = (session: BaseSession) => void;

interface Originals {
  postPlay: PlayFn;
  donePlay: DoneFn;
  postPublish: PlayFn;
}

/**
 * PlayGate holds every NMS play until the chain has allowed it.
 *
 * NMS 4.4.3 emits `prePlay` without waiting for its listeners, then writes headers and the GOP cache
 * synchronously (server/broadcast_server.js `postPlay`), so no event listener can gate. Every play goes
 * through its stream's `BroadcastServer.postPlay`, an instance field, and every broadcast is stored
 * with `Context.broadcasts.set`. The gate wraps that `set` so each broadcast's `postPlay` is replaced
 * by one that returns at once (NMS sends nothing: the viewer is not yet a subscriber), admits the
 * viewer through the admission pipeline (`admit`, with this play as its `ConnectionPort`: fields decoded
 * once, refused, cut, or resumed by calling the original on allow). `donePlay` is wrapped to end our
 * session when NMS ends its. `postPublish` is wrapped beside them: every publisher is decided by the
 * publish hook (`PublishGate`).
 */
export class PlayGate {
  readonly #ctx: GateContext;
  readonly #nms4: Nms4Internals;
  readonly #wrapped = new Map<BroadcastServer, Originals>();
  readonly #viewers = new WeakMap<BaseSession, ViewerSession>();
  readonly #publish: PublishGate;
  #unhook: (() => void) | undefined;
  #attached = false;

  constructor(ctx: GateContext, nms4: Nms4Internals) {
    this.#ctx = ctx;
    this.#nms4 = nms4;
    this.#publish = new PublishGate(ctx.log, nms4, () => ctx.addressRules.trustedProxies);
  }

  /** The hook that decides every publisher; until it is set, every publish is refused. */
  setPublishHook(hook: PublishHook): void {
    this.#publish.setHook(hook);
  }

  /** Reports accepted publishers and their end (`PublishGate.watch`). */
  watchPublishes(watcher: PublishWatcher): void {
    this.#publish.watch(watcher);
  }

  /** Starts gating: wraps the broadcasts that exist and every one NMS creates from now on. */
  attach(): void {
    assertNmsShape(this.#nms4);
    this.#unhook = hookMapSet(this.#nms4.Context.broadcasts, (broadcast) => this.#wrap(broadcast));
    this.#attached = true;
  }

  /** Stops gating and gives every broadcast its own methods back. Viewers mid-check are refused. */
  detach(): void {
    if (!this.#attached) return;
    this.#attached = false;
    this.#unhook?.();
    this.#unhook = undefined;
    this.#publish.detach();
    for (const [broadcast, originals] of this.#wrapped) {
      broadcast.postPlay = originals.postPlay;
      broadcast.donePlay = originals.donePlay;
      broadcast.postPublish = originals.postPublish;
    }
    this.#wrapped.clear();
  }

  #wrap(broadcast: BroadcastServer): void {
    if (this.#wrapped.has(broadcast)) return;
    const originals: Originals = { postPlay: broadcast.postPlay, donePlay: broadcast.donePlay, postPublish: broadcast.postPublish };
    this.#wrapped.set(broadcast, originals);
    broadcast.postPlay = (session) => this.#postPlay(broadcast, originals, session);
    broadcast.donePlay = (session) => this.#donePlay(broadcast, originals, session);
    broadcast.postPublish = (session) => this.#publish.postPublish(broadcast, originals.postPublish, session);
  }

  #postPlay(broadcast: BroadcastServer, originals: Originals, session: BaseSession): string | null {
    // Internal sessions (recording, relay push) have no address and skip NMS's own events too.
    if (session.ip === "") return originals.postPlay(session);
    const protocol = protocolOf(session);
    if (protocol === null) return "viewer authorization: unsupported play protocol";
    releaseViewerTagBuffer(session);
    let port: ConnectionPort;
    try {
      port = this.#portOf(broadcast, originals, session, protocol);
    } catch (error) {
      this.#ctx.log.error({ event: "gate.failed", protocol, err: error }, "admission failed; refusing the viewer");
      safely(() => closeConnection(session));
      return null;
    }
    void admit(this.#ctx, port);
    return null;
  }

  /** The play as a connection port: NMS 4's session, its fields decoded once, refused or resumed through NMS's own `postPlay`. */
  #portOf(broadcast: BroadcastServer, originals: Originals, session: BaseSession, protocol: Protocol): ConnectionPort {
    return new Nms4PlayPort(
      this,
      broadcast,
      originals,
      session,
      protocol,
      playFieldsOf(session, protocol, this.#ctx.addressRules.trustedProxies),
    );
  }

  /** The viewer session of an NMS session, kept for `donePlay` (see `Nms4PlayPort.opened`). */
  rememberViewer(session: BaseSession, viewer: ViewerSession): void {
    this.#viewers.set(session, viewer);
  }

  /** True while this gate is attached and still holds the broadcast's play path it wrapped with `originals`. */
  gates(broadcast: BroadcastServer, originals: Originals): boolean {
    return this.#attached && this.#wrapped.get(broadcast) === originals;
  }

  #donePlay(broadcast: BroadcastServer, originals: Originals, session: BaseSession): void {
    const viewer = this.#viewers.get(session);
    if (viewer !== undefined) endAdmission(this.#ctx.registry, viewer, { kind: "viewer-left" });
    originals.donePlay.call(broadcast, session);
  }
}

/** Fails loudly when NMS's internals are not what the gate wraps: an unwrapped play would leak. */
export function assertNmsShape({ Context, BroadcastServer }: Nms4Internals): void {
  if (!(Context.broadcasts instanceof Map)) throw new NmsIncompatibleError("Context.broadcasts is not a Map");
  const probe = new BroadcastServer("");
  for (const field of ["postPlay", "donePlay", "postPublish", "getPublishStatus"] as const) {
    if (!Object.hasOwn(probe, field) || typeof probe[field] !== "function") {
      throw new NmsIncompatibleError(`BroadcastServer.${field} is not an instance function`);
    }
  }
}

/**
 * One NMS 4 play as the admission pipeline's `ConnectionPort`. A class, not an object of closures: a
 * join storm opens thousands of plays a second on the one thread that also accepts and parses them, and
 * ten closures per play (each named by the build's `keepNames`) were a measurable part of a play's cost.
 */
class Nms4PlayPort implements ConnectionPort {
  readonly checksPlayFields = true;
  readonly app: string;
  readonly channel: string;
  readonly transport: ConnectionPort["transport"];
  readonly #gate: PlayGate;
  readonly #broadcast: BroadcastServer;
  readonly #originals: Originals;
  readonly #session: BaseSession;

  constructor(
    gate: PlayGate,
    broadcast: BroadcastServer,
    originals: Originals,
    session: BaseSession,
    readonly protocol: Protocol,
    readonly fields: RequestFields,
  ) {
    this.#gate = gate;
    this.#broadcast = broadcast;
    this.#originals = originals;
    this.#session = session;
    this.app = session.streamApp;
    this.channel = session.streamName;
    this.transport = new Nms4Transport(session);
  }

  opened(viewer: ViewerSession): void {
    this.#gate.rememberViewer(this.#session, viewer);
  }

  isGone(): boolean {
    return isConnectionGone(this.#session);
  }

  isStillGated(): boolean {
    return this.#gate.gates(this.#broadcast, this.#originals);
  }

  refuse(decision: Decision): void {
    refusePlay(this.#session, decision);
  }

  cut(): void {
    safely(() => closeConnection(this.#session));
  }

  play(): string | null {
    return this.#originals.postPlay(this.#session);
  }
}

/** How the session store reads an NMS play's bytes and cuts it off. */
class Nms4Transport {
  readonly #session: BaseSession;

  constructor(session: BaseSession) {
    this.#session = session;
  }

  bytesOut(): number {
    return this.#session.outBytes;
  }

  close(): void {
    closeConnection(this.#session);
  }
}

function safely(action: () => void): void {
  try {
    action();
  } catch {
    // The connection is already broken; nothing more to do.
  }
}
