import type { ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import type { Socket } from "node:net";

/**
 * NmsChildren knows the ffmpeg processes NMS 2.7 spawned itself (its `trans`, `relay` and `fission` sessions) and
 * proves that a loopback RTMP connection is one of them. NMS's trans ffmpeg reads
 * `rtmp://127.0.0.1:<port>/<app>/<name>` as an ordinary player; letting every loopback player in would
 * let any local process (another user's shell, a server-side fetch) play ungated. The proof asks the
 * kernel who holds the client end of the connection: the socket's inode from /proc/net/tcp{,6} (the
 * entry whose local port is the connection's remote port and whose remote port is ours), then the
 * children's open files in /proc/<pid>/fd. Linux only: elsewhere nothing is proven and the child is
 * refused like any viewer without a credential (fails closed).
 */
export class NmsChildren {
  readonly #pids = new Set<number>();

  /** Records a child NMS spawned; forgotten when it exits. */
  record(child: ChildProcess | undefined): void {
    const pid = child?.pid;
    if (pid === undefined) return;
    this.#pids.add(pid);
    child!.once("exit", () => this.#pids.delete(pid));
  }

  /** True when the client end of `socket` (a connection NMS accepted) is held by one of the children. */
  owns(socket: Socket): boolean {
    if (this.#pids.size === 0 || socket.remotePort === undefined || socket.localPort === undefined) return false;
    const inode = clientSocketInode(socket.remotePort, socket.localPort);
    if (inode === undefined) return false;
    const link = `socket:[${inode}]`;
    for (const pid of this.#pids) if (holds(pid, link)) return true;
    return false;
  }
}

/** The inode of the TCP socket whose local port is `clientPort` and remote port `serverPort`. */
function clientSocketInode(clientPort: number, serverPort: number): string | undefined {
  const local = `:${hex4(clientPort)}`;
  const remote = `:${hex4(serverPort)}`;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "latin1");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || !fields[1]!.endsWith(local) || !fields[2]!.endsWith(remote)) continue;
      if (fields[9] !== "0") return fields[9];
    }
  }
  return undefined;
}

function holds(pid: number, link: string): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) === link) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

function hex4(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, "0");
}
