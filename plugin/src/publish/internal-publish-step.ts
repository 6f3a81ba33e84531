import type { Authorizer } from "../core/authorizer.js";
import type { AuthRequest } from "../core/auth-request.js";
import { PASS, type StepVerdict } from "../core/decision.js";
import { isLoopback } from "../net/ip-address.js";
import type { LocalProcesses } from "../net/process-proof.js";
import { publishAllow, type PublishStepName } from "./publish-decision.js";

/**
 * The server's own ingest: a loopback RTMP publisher whose client end the kernel says is held by one of
 * the registered processes (net/process-proof.ts: the bundled server's ffmpeg children, by pid) is let
 * in with no secret and nothing in a URL. Linux only: elsewhere nothing is proven and the publisher goes
 * on to the next steps. Its only I/O is that proof (a few synchronous reads of /proc), and only for a
 * loopback RTMP publisher while processes are registered.
 */
export class InternalPublishStep implements Authorizer<PublishStepName> {
  readonly name = "internal";
  readonly #processes: LocalProcesses | undefined;

  constructor(processes: LocalProcesses | undefined) {
    this.#processes = processes;
  }

  decide(request: AuthRequest): StepVerdict {
    const processes = this.#processes;
    const { address, connection } = request;
    if (
      processes !== undefined &&
      processes.size > 0 &&
      request.protocol === "rtmp" &&
      connection !== undefined &&
      address !== null &&
      isLoopback(address) &&
      processes.holdsClientEnd(connection)
    ) {
      return publishAllow("internal", "the server's own ingest (proven from /proc)");
    }
    return PASS;
  }
}
