// Shared plumbing of the sample fake middlewares: listen on a port from the command line, log
// each request, and tell whether a file runs as the main program.
import http from "node:http";
import { pathToFileURL } from "node:url";
import type { AddressInfo } from "node:net";

/** A fake middleware: its server, and every request it saw (path and query), for tests. */
export interface FakeBackend {
  readonly server: http.Server;
  readonly calls: { path: string; params: URLSearchParams; headers: http.IncomingHttpHeaders }[];
  /** Listens on 127.0.0.1 (port 0 = any free port) and returns the base URL. */
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

/** Wraps a request handler into a FakeBackend that records each call before handling it. */
export function fakeBackend(handle: (url: URL, req: http.IncomingMessage, res: http.ServerResponse) => void): FakeBackend {
  const calls: FakeBackend["calls"] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://fake");
    calls.push({ path: url.pathname, params: url.searchParams, headers: req.headers });
    handle(url, req, res);
  });
  return {
    server,
    calls,
    listen(port = 0, host = "127.0.0.1") {
      return new Promise((resolve) => server.listen(port, host, () => resolve(`http://${host}:${(server.address() as AddressInfo).port}`)));
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Ends a response with a status, headers and an optional body. */
export function reply(res: http.ServerResponse, status: number, headers: Record<string, string> = {}, body = ""): void {
  res.writeHead(status, { "Content-Length": String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

/** True when `moduleUrl` (pass `import.meta.url`) is the program tsx was asked to run. */
export function isMain(moduleUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && pathToFileURL(entry).href === moduleUrl;
}

/** The value after `--name` on the command line, or the fallback. */
export function cliOption(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
}

/** Starts a fake from the command line on `--port` (default given) and logs every call to stderr. */
export async function runFromCli(fake: FakeBackend, defaultPort: number, what: string): Promise<void> {
  fake.server.on("request", (req: http.IncomingMessage) => console.error(`${what}: ${req.method} ${req.url}`));
  const base = await fake.listen(Number(cliOption("port", String(defaultPort))), cliOption("host", "127.0.0.1"));
  console.error(`${what} listening on ${base}`);
}
