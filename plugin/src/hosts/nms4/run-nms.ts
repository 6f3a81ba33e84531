import { once } from "node:events";
import type { Server as HttpServer } from "node:http";
import type { AddressInfo, Server as NetServer } from "node:net";

/** What `runNms` uses of an NMS 4 instance (its own types stay out of the public declarations). */
export interface RunnableNms {
  run(): Promise<void>;
  readonly rtmpServer: { readonly tcpServer?: NetServer };
  readonly httpServer: { readonly httpServer?: HttpServer };
}

/** The ports a started NMS listens on (the real ones when its configuration asked the OS to pick). */
export interface NmsPorts {
  readonly rtmp: number;
  readonly http: number;
}

/**
 * Starts NMS and resolves once its RTMP and HTTP servers both listen, with their ports. `nms.run()`
 * resolves before its servers listen (they bind asynchronously), so the `listening` events are
 * awaited; both servers must be configured (`rtmp.port`, `http.port`; the string "0" picks a port,
 * a numeric 0 means no listener in NMS 4.4.3).
 */
export async function runNms(nms: RunnableNms): Promise<NmsPorts> {
  const tcp = nms.rtmpServer.tcpServer;
  const http = nms.httpServer.httpServer;
  if (tcp === undefined || http === undefined) throw new Error("runNms needs NMS configured with rtmp.port and http.port");
  const listening = Promise.all([once(tcp, "listening"), once(http, "listening")]);
  await nms.run();
  await listening;
  return { rtmp: (tcp.address() as AddressInfo).port, http: (http.address() as AddressInfo).port };
}

/**
 * Closes NMS's RTMP and HTTP listeners so no new connection is accepted, and leaves the connections it
 * has (viewers being ended, the channels' own publishers) to `nms.stop()`, which destroys them. The
 * first step of a shutdown: a viewer that joined while ffmpeg stops would get no ledger row.
 */
export function stopAcceptingNms(nms: RunnableNms): void {
  // A second close (nms.stop() closes them again) only hands its callback an error; nothing throws.
  nms.rtmpServer.tcpServer?.close(() => {});
  nms.httpServer.httpServer?.close(() => {});
}
