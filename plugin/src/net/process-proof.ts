import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** A TCP connection's two ports as the server sees it: its own (`localPort`) and the client's (`remotePort`). */
export interface TcpEndpoints {
  readonly localPort: number;
  readonly remotePort: number;
}

/**
 * LocalProcesses is a set of process ids the server trusts as its own (the ffmpeg children it spawned),
 * and the proof that a loopback TCP connection comes from one of them. Nothing the client sends is
 * believed: the kernel is asked who holds the client end of the connection, the socket's inode from
 * /proc/net/tcp{,6} (the entry whose local port is the connection's remote port and whose remote port
 * is the server's), then the processes' open files in /proc/<pid>/fd. No secret is involved, so none can
 * leak through a command line or a file.
 *
 * Linux only: elsewhere /proc does not exist, nothing is proven and the caller treats the connection
 * like any other (fails closed). Reading /proc costs a few file reads per process: callers ask only
 * for loopback connections, and only while the set is not empty. A connection from the same host
 * proves only the port pair, so the caller must also check the peer is loopback.
 */
export class LocalProcesses {
  readonly #pids = new Set<number>();

  /** Trusts the process `pid` from now on (until `delete`). */
  add(pid: number): void {
    this.#pids.add(pid);
  }

  /** Stops trusting `pid` (it exited). */
  delete(pid: number): void {
    this.#pids.delete(pid);
  }

  /** How many processes are trusted now. */
  get size(): number {
    return this.#pids.size;
  }

  /** True when the client end of the connection is held by one of the processes. */
  holdsClientEnd(connection: TcpEndpoints): boolean {
    if (this.#pids.size === 0) return false;
    const inode = clientSocketInode(connection.remotePort, connection.localPort);
    if (inode === undefined) return false;
    const link = `socket:[${inode}]`;
    for (const pid of this.#pids) if (holds(pid, link)) return true;
    return false;
  }
}

/** A socket's ports as a TcpEndpoints, or undefined when it has none (closed, or not TCP). */
export function tcpEndpointsOf(
  socket: { readonly localPort?: number | undefined; readonly remotePort?: number | undefined } | undefined,
): TcpEndpoints | undefined {
  const localPort = socket?.localPort;
  const remotePort = socket?.remotePort;
  return localPort === undefined || remotePort === undefined ? undefined : { localPort, remotePort };
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
