import type { ChildProcess } from "node:child_process";
import type { Socket } from "node:net";
import { LocalProcesses, tcpEndpointsOf } from "../../net/process-proof.js";

/**
 * NmsChildren knows the ffmpeg processes NMS 2.7 spawned itself (its `trans`, `relay` and `fission` sessions) and
 * proves that a loopback RTMP connection is one of them. NMS's trans ffmpeg reads
 * `rtmp://127.0.0.1:<port>/<app>/<name>` as an ordinary player; letting every loopback player in would
 * let any local process (another user's shell, a server-side fetch) play ungated. The proof is
 * `LocalProcesses` (net/process-proof.ts): the kernel says who holds the client end of the connection.
 * Linux only: elsewhere nothing is proven and the child is refused like any viewer without a
 * credential (fails closed).
 */
export class NmsChildren {
  readonly #processes = new LocalProcesses();

  /** Records a child NMS spawned; forgotten when it exits. */
  record(child: ChildProcess | undefined): void {
    const pid = child?.pid;
    if (pid === undefined) return;
    this.#processes.add(pid);
    child!.once("exit", () => this.#processes.delete(pid));
  }

  /** True when the client end of `socket` (a connection NMS accepted) is held by one of the children. */
  owns(socket: Socket): boolean {
    const endpoints = tcpEndpointsOf(socket);
    return endpoints !== undefined && this.#processes.holdsClientEnd(endpoints);
  }
}
