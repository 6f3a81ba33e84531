import net, { type AddressInfo, type Socket } from "node:net";

/**
 * A loopback TCP relay in front of a real server, to cut one client off while others still reach it:
 * `cut()` resets every relayed connection and refuses new ones; `restore()` relays again on the same port.
 */
export interface TcpRelay {
  port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

/**
 * `replyDelayMs`: every chunk the server sends is passed on that much later (order kept), a slow link
 * that still answers, so a test can act while a reply is on its way.
 */
export async function startTcpRelay(targetPort: number, options: { replyDelayMs?: number } = {}): Promise<TcpRelay> {
  const sockets = new Set<Socket>();
  const makeServer = () =>
    net.createServer((client) => {
      const upstream = net.connect(targetPort, "127.0.0.1");
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
        s.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      const delayMs = options.replyDelayMs ?? 0;
      if (delayMs === 0) upstream.pipe(client);
      else upstream.on("data", (chunk: Buffer) => setTimeout(() => client.destroyed || client.write(chunk), delayMs));
    });
  let server = makeServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const stop = async () => {
    for (const s of sockets) s.resetAndDestroy();
    sockets.clear();
    if (server.listening) await new Promise((r) => server.close(r));
  };
  return {
    port,
    cut: stop,
    async restore() {
      server = makeServer();
      await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    },
    close: stop,
  };
}
