import { createRequire } from "node:module";
import { hostPackageResolvedBy } from "../../plugin/src/hosts/host-package.js";
import { loadNms4Internals, type BaseSession } from "../../plugin/src/hosts/nms4/nms4-internals.js";

/**
 * The internals of the node-media-server the tests and benches import (the repo's 4.4.3, the copy
 * `import NodeMediaServer from "node-media-server"` loads here), for the tests that look inside NMS.
 * The plugin itself finds them from the instance it is given (`nms4InternalsOf`).
 */
export const nms4 = loadNms4Internals(hostPackageResolvedBy(createRequire(import.meta.url)));
export const { Context, Flv, Rtmp, nmsLogger, BroadcastServer, RtmpClientSession } = nms4;
export type { BaseSession };
