import type { AuthRequest } from "../core/auth-request.js";
import type { ViewerSession } from "../core/viewer-session.js";
import type { Decision } from "../core/decision.js";
import type { CountedUse } from "../core/use-counter.js";
import { CREDENTIAL_PARAMS, credentialKey, repeatedCredentialParam } from "../sessions/credential-key.js";
import type { ConnectionPort } from "./connection-port.js";
import { startPlaying, type GateContext } from "./gate-context.js";
import type { InputProblem } from "./input-problem.js";
import { loggableInput } from "./loggable-input.js";
import { playFieldsProblem } from "./play-fields.js";
import { playRequestOf } from "./play-request.js";
import { endAdmission } from "./session-end.js";

/**
 * The admission pipeline: owns one new viewer from hold to verdict to session end, the same way for
 * every protocol and host (NMS 4 and 2.7 plays, HLS playlists). The host's half is its `ConnectionPort`.
 * In order: the play's app and channel are checked (a malformed one never opens a session), the session
 * opens, the request is built from the port's decoded fields, malformed headers and a credential
 * parameter given twice are refused as input, the chain decides (its `revoked` step first refuses what
 * the operator revoked), a viewer that left meanwhile ends as `viewer-left`, a deny is refused, the HLS
 * hooks run, the session limits apply (`startPlaying`) and only then the media starts. Exactly one of
 * `refuse`, `play`, `cut` or nothing (the viewer left, or a hook answered) happens to the port. Never
 * rejects: a throw ends the session as `denied`, is logged (`gate.failed`) and cuts the connection.
 */
export async function admit(ctx: GateContext, port: ConnectionPort): Promise<void> {
  if (port.checksPlayFields) {
    // Defence in depth behind the input shields: nothing malformed reaches the registry or the chain.
    const problem = playFieldsProblem({ app: port.app, channel: port.channel });
    if (problem !== null) return refuseBadInput(ctx, port, problem);
  }
  let session: ViewerSession | undefined;
  // The use counted for a credential with a number of uses, given back if the session does not play.
  let use: CountedUse | undefined | null;
  try {
    const fields = port.fields;
    session = ctx.registry.open({
      protocol: port.protocol,
      app: port.app,
      channel: port.channel,
      ip: fields.ip,
      userAgent: port.checksPlayFields ? "" : fields.userAgent,
      transport: port.transport,
    });
    port.opened?.(session);
    if (port.checksPlayFields) {
      const problem = playFieldsProblem({ userAgent: fields.userAgent, host: fields.host, origin: fields.origin });
      if (problem !== null) {
        refuseBadInput(ctx, port, problem, session.id);
        return endAdmission(ctx.registry, session, { kind: "denied", stage: "input" });
      }
      ctx.registry.describe(session, { userAgent: fields.userAgent });
    }
    const request: AuthRequest = playRequestOf(port, session.id);
    const repeated = repeatedCredentialParam(request.params);
    if (repeated !== undefined) {
      // Steps read a parameter's first value, a backend may read its last: one request, two credentials.
      const reason = `credential parameter "${repeated}" given more than once`;
      ctx.log.info(
        {
          event: "gate.credential_repeated",
          sessionId: session.id,
          protocol: request.protocol,
          app: request.app,
          channel: request.channel,
          ip: request.ip,
          reason,
        },
        "refused: a credential parameter given twice",
      );
      endAdmission(ctx.registry, session, { kind: "denied", stage: "input" });
      return port.refuse({ verdict: "deny", step: "default", reason, latencyMs: 0 });
    }
    const decision = await ctx.chain.decide(request);
    if (left(ctx, session, port)) return;
    if (decision.verdict === "deny" || port.isStillGated?.() === false) {
      if (decision.step === "revoked") {
        // Kept beside the chain's `auth.decision` (step `revoked`): the operator's audit of revoked credentials, users and addresses.
        ctx.log.info(
          {
            event: "gate.revoked_refused",
            sessionId: session.id,
            protocol: request.protocol,
            app: request.app,
            channel: request.channel,
            ip: request.ip,
            reason: decision.reason,
          },
          "refused: revoked",
        );
      }
      endAdmission(ctx.registry, session, {
        kind: "denied",
        stage: decision.step,
        ...(decision.user === undefined ? {} : { identity: decision.user }),
      });
      return port.refuse(decision);
    }
    use = await takeUse(ctx, request, decision);
    if (use === null) {
      if (left(ctx, session, port)) return;
      logUsedUp(ctx, request);
      endAdmission(ctx.registry, session, { kind: "denied", stage: decision.step, identity: decision.user });
      return port.refuse({ verdict: "deny", step: decision.step, reason: LINK_USED_UP, latencyMs: decision.latencyMs });
    }
    if (port.hold?.(session, request, decision) === true) {
      giveBack(ctx, use);
      return endAdmission(ctx.registry, session, { kind: "limit", stage: "hls-unplayed", identity: decision.user });
    }
    if (port.prepare !== undefined) {
      const ready = await port.prepare();
      if (left(ctx, session, port)) return giveBack(ctx, use);
      if (!ready) {
        giveBack(ctx, use);
        return endAdmission(ctx.registry, session, { kind: "not-found", stage: decision.step, identity: decision.user });
      }
    }
    const refusal = await startPlaying(ctx, session, request, decision);
    if (refusal !== null) {
      giveBack(ctx, use);
      return port.refuse({ verdict: "deny", step: decision.step, reason: refusal, latencyMs: decision.latencyMs });
    }
    // Taking a slot across edges waits on Redis: the viewer may have left meanwhile.
    if (decision.step !== "internal" && left(ctx, session, port)) return giveBack(ctx, use);
    const hostRefusal = port.play(session, request, decision);
    if (hostRefusal === null) return;
    giveBack(ctx, use);
    // The host's own checks still apply after ours (NMS's `auth.play` sign, an app's `prePlay` reject).
    ctx.log.warn(
      { event: "gate.nms_refused", sessionId: session.id, ...(hostRefusal === "" ? {} : { reason: hostRefusal }) },
      "node-media-server refused an allowed play",
    );
    endAdmission(ctx.registry, session, { kind: "denied" });
    port.cut();
  } catch (error) {
    ctx.log.error(
      { event: "gate.failed", sessionId: session?.id, protocol: port.protocol, err: error },
      "admission failed; refusing the viewer",
    );
    if (session !== undefined && session.state !== "ended") endAdmission(ctx.registry, session, { kind: "denied" });
    giveBack(ctx, use);
    port.cut();
  }
}

/** The deny reason of a signed link whose `maxUses` sessions are all counted. */
export const LINK_USED_UP = "link-used-up";

/**
 * Counts a use of the allowed credential when it has a number of uses: undefined when it has none (or
 * nothing counts them), null when they are spent. Counted before the session plays, so two viewers of
 * one link race on the counter, not on the media; given back if the session then does not play.
 */
async function takeUse(
  ctx: GateContext,
  request: AuthRequest,
  decision: Decision & { verdict: "allow" },
): Promise<CountedUse | undefined | null> {
  const bound = decision.uses;
  if (bound === undefined || ctx.linkUses === undefined) return undefined;
  const param = CREDENTIAL_PARAMS.find((p) => p === bound.param);
  const value = param === undefined ? null : request.params.get(param);
  const key = value === null || param === undefined ? null : credentialKey(param, value);
  if (key === null) return null; // a bound names the credential it counts: one that cannot be keyed is not let in
  const use: CountedUse = { key, max: bound.max, untilMs: bound.untilMs };
  return (await ctx.linkUses.take(use)) ? use : null;
}

function giveBack(ctx: GateContext, use: CountedUse | undefined | null): void {
  if (use !== undefined && use !== null) ctx.linkUses?.giveBack(use);
}

function logUsedUp(ctx: GateContext, request: AuthRequest): void {
  ctx.log.info(
    {
      event: "gate.link_used_up",
      sessionId: request.sessionId,
      protocol: request.protocol,
      app: request.app,
      channel: request.channel,
      ip: request.ip,
    },
    "refused: the signed link's uses are spent",
  );
}

/** Refuses a play whose fields break the play-field rules (`gate.bad_input`), before the chain sees it. */
export function refuseBadInput(
  ctx: GateContext,
  port: Pick<ConnectionPort, "protocol" | "refuse"> & { readonly fields: { readonly ip: string } },
  problem: InputProblem,
  sessionId?: string,
): void {
  ctx.log.info(
    {
      event: "gate.bad_input",
      protocol: port.protocol,
      sessionId,
      ip: port.fields.ip,
      field: problem.field,
      reason: problem.reason,
      input: loggableInput(problem.value),
    },
    "refused a play with a malformed field",
  );
  try {
    port.refuse({ verdict: "deny", step: "default", reason: `malformed ${problem.field}`, latencyMs: 0 });
  } catch {
    // The connection is already broken; nothing more to do.
  }
}

/**
 * True when the viewer hung up (its session then ends as `viewer-left`) or its session was ended
 * (closed by the API) while the pipeline waited; a connection still open then gets a refusal, not silence.
 */
function left(ctx: GateContext, session: ViewerSession, port: ConnectionPort): boolean {
  const gone = port.isGone();
  if (session.state !== "ended" && !gone) return false;
  endAdmission(ctx.registry, session, { kind: "viewer-left" });
  if (!gone) port.refuse({ verdict: "deny", step: "default", reason: "session ended while checking", latencyMs: 0 });
  return true;
}
