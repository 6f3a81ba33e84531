import { NmsIncompatibleError } from "../core/errors.js";
import type { HostAdapter } from "./host-adapter.js";
import { Nms2Host } from "./nms2/nms2-host.js";
import { nms2InternalsOf, type Nms2Server } from "./nms2/nms2-internals.js";
import { createNms4Host } from "./nms4/nms4-host.js";
import type NodeMediaServer from "node-media-server";

/**
 * The host adapter for a node-media-server instance, picked by the instance itself: a 2.x instance
 * (made by a CommonJS `node_media_server.js` whose package is node-media-server 2.x) gets the 2.7
 * adapter, bound to that very copy's internals; an instance with NMS 4's servers gets the 4.x adapter.
 * Anything else is refused, naming the supported ranges; each adapter's `probe` then checks the version.
 */
export function hostFor(nms: unknown): HostAdapter {
  if (typeof nms !== "object" || nms === null) throw new NmsIncompatibleError("attachViewerAuth needs a NodeMediaServer instance");
  const nms2 = nms2InternalsOf(nms);
  if (nms2 !== undefined) return new Nms2Host(nms as Nms2Server, nms2);
  if ("httpServer" in nms && "rtmpServer" in nms) return createNms4Host(nms as NodeMediaServer);
  throw new NmsIncompatibleError("the instance is neither a node-media-server 2.7 nor a 4.x NodeMediaServer");
}
