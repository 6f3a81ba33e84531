import type { HostAdapter, NodeMediaServerInstance } from "./host-adapter.js";
import { hostPackageOf } from "./host-package.js";
import { Nms2Host } from "./nms2/nms2-host.js";
import { nms2InternalsOf, type Nms2Server } from "./nms2/nms2-internals.js";
import { createNms4Host } from "./nms4/nms4-host.js";

/**
 * The host adapter for a node-media-server instance, picked by the copy of NMS the instance was made
 * by (`hostPackageOf`): a 2.x copy gets the 2.7 adapter, bound to that copy's internals; any other gets
 * the 4.x adapter, whose probe checks its release. An unsupported release is refused with
 * NmsUnsupportedVersionError naming the supported ones; an instance whose copy cannot be found, with
 * NmsIncompatibleError. Nothing is changed before either.
 */
export function hostFor(nms: NodeMediaServerInstance): HostAdapter {
  const host = hostPackageOf(nms);
  if (host.version.startsWith("2.")) return new Nms2Host(nms as Nms2Server, nms2InternalsOf(nms, host));
  return createNms4Host(nms);
}
