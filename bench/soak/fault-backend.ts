// A misbehaving auth backend, run as its own process by the backend-faults scenario. It listens on the
// port given in argv[2] (0 = any; the port is printed as `{"port":N}`) and switches behaviour on a stdin
// line naming a mode; it answers `{"mode":M}` once the mode is in force:
// - ok:        answers 200 {"error":0} at once (Smarty's allow): the baseline of the gate's own answer time;
// - hang:      accepts, reads the request, never answers;
// - refuse:    closes its listening socket, so connections are refused (ECONNREFUSED);
// - reset:     accepts and resets the connection at once;
// - 5xx:       answers 503;
// - garbage:   writes bytes that are not HTTP, then closes;
// - slow-body: sends 200 headers with Content-Length 1000, then one byte a second.
import { createServer, type Server, type Socket } from "node:net";
import { createInterface } from "node:readline";

export const FAULT_MODES = ["ok", "hang", "refuse", "reset", "5xx", "garbage", "slow-body"] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

let mode: FaultMode = "hang";
const sockets = new Set<Socket>();
let port = Number(process.argv[2] ?? 0);
let server: Server | undefined;

function onConnection(socket: Socket): void {
  sockets.add(socket);
  socket.on("close", () => sockets.delete(socket));
  socket.on("error", () => undefined);
  if (mode === "reset") return void socket.resetAndDestroy();
  let head = "";
  socket.on("data", (chunk: Buffer) => {
    head += chunk.toString("latin1");
    // Keep-alive: one answer per request head seen.
    while (head.includes("\r\n\r\n")) {
      head = head.slice(head.indexOf("\r\n\r\n") + 4);
      answer(socket);
    }
  });
}

function answer(socket: Socket): void {
  switch (mode) {
    case "ok":
      return void socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"error":0}');
    case "hang":
    case "refuse":
    case "reset":
      return;
    case "5xx":
      return void socket.write("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 12\r\n\r\nunavailable\n");
    case "garbage":
      return void socket.end("\x00\x17garbage that is not HTTP\xff\xfe\r\n\r\n");
    case "slow-body": {
      socket.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n");
      const drip = setInterval(() => (socket.destroyed ? clearInterval(drip) : socket.write("x")), 1000);
      socket.on("close", () => clearInterval(drip));
      return;
    }
  }
}

async function listen(): Promise<void> {
  server = createServer(onConnection);
  await new Promise<void>((resolve) => server!.listen(port, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
}

async function setMode(next: FaultMode): Promise<void> {
  // Connections held by the last mode go, so that each mode starts from fresh connections.
  for (const socket of sockets) socket.destroy();
  if (next === "refuse" && server !== undefined) {
    await new Promise((r) => server!.close(r));
    server = undefined;
  } else if (next !== "refuse" && server === undefined) {
    await listen();
  }
  mode = next;
  process.stdout.write(`${JSON.stringify({ mode })}\n`);
}

await listen();
process.stdout.write(`${JSON.stringify({ port })}\n`);
createInterface({ input: process.stdin }).on("line", (line) => {
  const next = line.trim() as FaultMode;
  if (FAULT_MODES.includes(next)) void setMode(next);
});
process.stdin.on("end", () => process.exit(0));
