import { createServer } from "node:net";
import type { ServerConfig } from "./server-config-schema.js";

/** A listener of the bundled server: its configuration key, its `VA_*` variable and the port the configuration asks for. */
interface Listener {
  readonly key: string;
  readonly variable: string;
  readonly bind: string;
  readonly port: number;
}

/** The listeners with a fixed port (0 lets the OS pick one, which is never busy). */
function listenersOf(config: ServerConfig): Listener[] {
  const s = config.server;
  const all: Listener[] = [
    { key: "server.rtmpPort", variable: "VA_RTMP_PORT", bind: s.bind, port: s.rtmpPort },
    { key: "server.httpPort", variable: "VA_HTTP_PORT", bind: s.bind, port: s.httpPort },
  ];
  if (config.api.enabled) all.push({ key: "api.port", variable: "VA_API_PORT", bind: config.api.bind, port: config.api.port });
  return all.filter((l) => l.port !== 0);
}

/** The one line a listener that cannot listen gets: which key and which variable to change. */
export function listenFailureLine(listener: Listener, code: string): string {
  const what = code === "EADDRINUSE" ? "is in use" : code === "EACCES" ? "needs privileges this user lacks" : "cannot be listened on";
  return `${listener.key} ${listener.port} ${what} (${code}): change ${listener.key} or set ${listener.variable}`;
}

/**
 * Tries each fixed port before anything of the server listens, so that a busy one is reported as the key
 * and variable to change, not by node-media-server (which names its own bin/config.json and exits).
 * Returns one line per port that cannot be listened on.
 */
export async function busyPortLines(config: ServerConfig): Promise<string[]> {
  const lines: string[] = [];
  for (const listener of listenersOf(config)) {
    const code = await tryListen(listener.bind, listener.port);
    if (code !== undefined) lines.push(listenFailureLine(listener, code));
  }
  return lines;
}

/**
 * The line for a listen error that happened anyway (another process took the port between the check and
 * the listen): matched by the error's port; undefined for any other error.
 */
export function listenErrorLine(config: ServerConfig, error: unknown): string | undefined {
  const { code, port, syscall } = (error ?? {}) as { code?: unknown; port?: unknown; syscall?: unknown };
  if (syscall !== "listen" || typeof code !== "string") return undefined;
  const listener = listenersOf(config).find((l) => l.port === port);
  return listener === undefined ? undefined : listenFailureLine(listener, code);
}

function tryListen(bind: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "EUNKNOWN"));
    server.listen({ host: bind, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}
