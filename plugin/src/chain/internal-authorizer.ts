import type { Authorizer } from "../core/authorizer.js";
import type { AuthRequest } from "../core/auth-request.js";
import { allow, PASS, type StepVerdict } from "../core/decision.js";
import { isLoopback } from "../net/ip-address.js";
import type { LocalProcesses } from "../net/process-proof.js";

/**
 * Lets the server's own processes (the bundled server's packager ffmpeg) play: a loopback RTMP
 * connection whose client end the kernel says is held by one of `processes` (net/process-proof.ts).
 * No secret is asked for, so none travels in a URL or a command line. Every other request passes to the
 * next step, whatever it carries (a `va_internal` parameter means nothing). HTTP viewers and remote
 * peers never cost a look into /proc. Linux only: elsewhere nothing is proven and the step passes.
 * An allowed play is not a viewer session (gate/gate-context.ts `startPlaying` discards it): it is the
 * server's own packager, and counting it would skew viewer limits and statistics.
 */
export function createInternalAuthorizer(processes: LocalProcesses): Authorizer {
  return {
    name: "internal",
    decide: function internal(request: AuthRequest): StepVerdict {
      const connection = request.connection;
      if (request.protocol !== "rtmp" || connection === undefined || processes.size === 0) return PASS;
      if (request.address === null || !isLoopback(request.address)) return PASS;
      return processes.holdsClientEnd(connection) ? allow("the server's own process (proven from /proc)") : PASS;
    },
  };
}
