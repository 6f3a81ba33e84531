import http from "node:http";
import type { AddressInfo } from "node:net";

/** One request the stub backend received. */
export interface StubCall {
  /** Path and query exactly as sent on the wire. */
  rawUrl: string;
  headers: http.IncomingHttpHeaders;
}

/** A real node:http auth backend on 127.0.0.1:0 whose answer a test sets per request. */
export interface StubBackend {
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  readonly port: number;
  readonly calls: StubCall[];
  /** TCP connections accepted so far (keep-alive reuse shows as fewer connections than calls). */
  readonly connections: number;
  /** Connections open right now, and the most ever open at once. */
  readonly openConnections: number;
  readonly maxOpenConnections: number;
  /** How the next requests are answered; default 200 with no headers. */
  respond: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  close(): Promise<void>;
}

export async function startStubBackend(): Promise<StubBackend> {
  const calls: StubCall[] = [];
  const stub = {
    calls,
    respond: (_req: http.IncomingMessage, res: http.ServerResponse) => {
      res.writeHead(200, { "Content-Length": "0" });
      res.end();
    },
  } as StubBackend;
  const server = http.createServer((req, res) => {
    calls.push({ rawUrl: req.url ?? "", headers: req.headers });
    stub.respond(req, res);
  });
  const counts = { connections: 0, openConnections: 0, maxOpenConnections: 0 };
  server.on("connection", (socket) => {
    counts.connections++;
    counts.openConnections++;
    counts.maxOpenConnections = Math.max(counts.maxOpenConnections, counts.openConnections);
    socket.on("close", () => counts.openConnections--);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  for (const key of ["connections", "openConnections", "maxOpenConnections"] as const) {
    Object.defineProperty(stub, key, { get: () => counts[key], enumerable: true });
  }
  return Object.assign(stub, {
    base: `http://127.0.0.1:${port}`,
    port,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

/** Answers with a status and headers, empty body. */
export function answer(status: number, headers: Record<string, string> = {}) {
  return (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(status, { "Content-Length": "0", ...headers });
    res.end();
  };
}
