import { readFileSync } from "node:fs";

/**
 * How many established TCP connections this machine has whose local port is `port`: the server-side
 * ends of the connections to a listener. Read from /proc/net/tcp and tcp6, so a test can see a server
 * cut a connection without waiting for the client to notice.
 */
export function establishedOnPort(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  let count = 0;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue; // no IPv6 on this machine
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      // fields[1] is local "ADDR:PORT", fields[3] the state; 01 = ESTABLISHED.
      if (fields[1]?.endsWith(`:${hexPort}`) && fields[3] === "01") count++;
    }
  }
  return count;
}
