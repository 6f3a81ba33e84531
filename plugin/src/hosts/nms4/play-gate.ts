import Context from "node-media-server/src/core/context.js";
import BroadcastServer from "node-media-server/src/server/broadcast_server.js";
import type BaseSession from "node-media-server/src/session/base_session.js";
import type { Decision } from "../../core/decision.js";
import { NmsIncompatibleError } from "../../core/errors.js";
import { parseNmsSessionAddress } from "../../net/ip-address.js";
import type { ViewerSession } from "../../core/viewer-session.js";
import { startPlaying, type GateContext } from "../../gate/gate-context.js";
import { closeConnection, isConnectionGone, protocolOf, refusePlay } from "./nms-connection.js";
import { playRequestOf } from "./nms-play-request.js";
import type { InputProblem } from "../../gate/input-problem.js";
import { loggableInput } from "../../gate/loggable-input.js";
import { playFieldsProblem } from "../../gate/play-fields.js";

type PlayFn = (session: BaseSession) => string | null;
type DoneFn = (session: BaseSession) => void;

interface Originals {
  postPlay: PlayFn;
  donePlay: DoneFn;
}

/**
 * PlayGate holds every NMS play until the chain has allowed it.
 *
 * NMS 4.4.3 emits `prePlay` without waiting, then writes headers and the GOP cache synchronously,
 * so no event listener can gate (nms.md). Every play goes through its stream's
 * `BroadcastServer.postPlay`, an instance field, and every broadcast is stored with
 * `Context.broadcasts.set`. The gate wraps that `set` so each broadcast's `postPlay` is replaced by
 * one that returns at once (NMS sends nothing: the viewer is not yet a subscriber), runs the chain,
 * and calls the original only on allow. `donePlay` is wrapped to end our session when NMS ends its.
 * Behind the input shield, it checks the play's fields again (`playFieldsProblem`): a malformed app
 * or channel never opens a session, a malformed user agent, host or origin never reaches the chain.
 */
export class PlayGate {
  readonly #ctx: GateContext;
  readonly #wrapped = new Map<BroadcastServer, Originals>();
  readonly #viewers = new WeakMap<BaseSession, ViewerSession>();
  readonly #originalSet = Context.broadcasts.set;
  readonly #setWasOwn = Object.hasOwn(Context.broadcasts, "set");
  #attached = false;

  constructor(ctx: GateContext) {
    this.#ctx = ctx;
  }

  /** Starts gating: wraps the broadcasts that exist and every one NMS creates from now on. */
  attach(): void {
    assertNmsShape();
    const gate = this;
    const originalSet = this.#originalSet;
    Context.broadcasts.set = function gatedSet(this: Map<string, BroadcastServer>, path: string, broadcast: BroadcastServer) {
      gate.#wrap(broadcast);
      return originalSet.call(this, path, broadcast);
    };
    for (const broadcast of Context.broadcasts.values()) this.#wrap(broadcast);
    this.#attached = true;
  }

  /** Stops gating and gives every broadcast its own methods back. Viewers mid-check are refused. */
  detach(): void {
    if (!this.#attached) return;
    this.#attached = false;
    if (this.#setWasOwn) Context.broadcasts.set = this.#originalSet;
    else delete (Context.broadcasts as { set?: unknown }).set;
    for (const [broadcast, originals] of this.#wrapped) {
      broadcast.postPlay = originals.postPlay;
      broadcast.donePlay = originals.donePlay;
    }
    this.#wrapped.clear();
  }

  #wrap(broadcast: BroadcastServer): void {
    if (this.#wrapped.has(broadcast)) return;
    const originals: Originals = { postPlay: broadcast.postPlay, donePlay: broadcast.donePlay };
    this.#wrapped.set(broadcast, originals);
    broadcast.postPlay = (session) => this.#postPlay(broadcast, originals, session);
    broadcast.donePlay = (session) => this.#donePlay(broadcast, originals, session);
  }

  #postPlay(broadcast: BroadcastServer, originals: Originals, session: BaseSession): string | null {
    // Internal sessions (recording, relay push) have no address and skip NMS's own events too.
    if (session.ip === "") return originals.postPlay(session);
    const protocol = protocolOf(session);
    if (protocol === null) return "viewer authorization: unsupported play protocol";
    // Defence in depth behind the input shield: nothing malformed reaches the registry or the chain.
    const problem = playFieldsProblem({ app: session.streamApp, channel: session.streamName });
    if (problem !== null) {
      this.#refuseBadInput(session, protocol, problem);
      return null;
    }
    const viewer = this.#ctx.registry.open({
      protocol,
      app: session.streamApp,
      channel: session.streamName,
      ip: session.ip,
      userAgent: "",
      transport: { bytesOut: () => session.outBytes, close: () => closeConnection(session) },
    });
    this.#viewers.set(session, viewer);
    this.#check(broadcast, originals, session, viewer).catch((error: unknown) => {
      this.#ctx.log.error({ event: "gate.failed", sessionId: viewer.id, err: error }, "play gate failed; refusing the viewer");
      this.#ctx.registry.end(viewer, "denied");
      safely(() => closeConnection(session));
    });
    return null;
  }

  async #check(broadcast: BroadcastServer, originals: Originals, session: BaseSession, viewer: ViewerSession): Promise<void> {
    const request = playRequestOf(session, viewer.protocol, viewer.id, this.#ctx.addressRules.trustedProxies);
    this.#ctx.registry.describe(viewer, { ip: request.ip });
    const problem = playFieldsProblem({ userAgent: request.userAgent, host: request.host, origin: request.origin });
    if (problem !== null) {
      this.#ctx.registry.end(viewer, "denied");
      this.#refuseBadInput(session, viewer.protocol, problem, viewer.id);
      return;
    }
    this.#ctx.registry.describe(viewer, { userAgent: request.userAgent });
    const decision = await this.#ctx.chain.decide(request);
    if (viewer.state === "ended" || isConnectionGone(session)) {
      this.#ctx.registry.end(viewer, "viewer-left");
      return;
    }
    if (decision.verdict === "deny" || !this.#attached || this.#wrapped.get(broadcast) !== originals) {
      this.#refuse(session, viewer, decision);
      return;
    }
    const refusal = startPlaying(this.#ctx, viewer, request, decision);
    if (refusal !== null) {
      refusePlay(session, { ...decision, verdict: "deny", reason: refusal });
      return;
    }
    const error = originals.postPlay(session);
    if (error !== null) {
      // NMS's own checks (its `auth.play` sign) still apply after ours.
      this.#ctx.log.warn({ event: "gate.nms_refused", sessionId: viewer.id, reason: error }, "node-media-server refused an allowed play");
      this.#ctx.registry.end(viewer, "denied");
      closeConnection(session);
    }
  }

  /** Refuses a play whose fields break the play-field rules, before the chain sees it. */
  #refuseBadInput(session: BaseSession, protocol: string, problem: InputProblem, sessionId?: string): void {
    this.#ctx.log.info(
      { event: "gate.bad_input", protocol, sessionId, ip: parseNmsSessionAddress(session.ip)?.text ?? "", field: problem.field, reason: problem.reason, input: loggableInput(problem.value) },
      "refused a play with a malformed field",
    );
    safely(() => refusePlay(session, { verdict: "deny", step: "default", reason: `malformed ${problem.field}`, latencyMs: 0 }));
  }

  #refuse(session: BaseSession, viewer: ViewerSession, decision: Decision): void {
    this.#ctx.registry.end(viewer, "denied");
    refusePlay(session, decision);
  }

  #donePlay(broadcast: BroadcastServer, originals: Originals, session: BaseSession): void {
    const viewer = this.#viewers.get(session);
    if (viewer !== undefined) this.#ctx.registry.end(viewer, "viewer-left");
    originals.donePlay.call(broadcast, session);
  }
}

/** Fails loudly when NMS's internals are not what the gate wraps: an unwrapped play would leak. */
function assertNmsShape(): void {
  if (!(Context.broadcasts instanceof Map)) throw new NmsIncompatibleError("Context.broadcasts is not a Map");
  const probe = new BroadcastServer("");
  for (const field of ["postPlay", "donePlay"] as const) {
    if (!Object.hasOwn(probe, field) || typeof probe[field] !== "function") {
      throw new NmsIncompatibleError(`BroadcastServer.${field} is not an instance function`);
    }
  }
}

function safely(action: () => void): void {
  try {
    action();
  } catch {
    // The connection is already broken; nothing more to do.
  }
}
