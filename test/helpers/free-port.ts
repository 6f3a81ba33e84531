import net, { type AddressInfo } from "node:net";

/** A loopback port nothing listens on right now: bound by the OS, then closed (connecting to it is refused). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}
