/**
 * node-media-server 4 internals that tests and benches reach into (the process-wide Context of
 * sessions and broadcasts, NMS's logger, its RTMP and FLV protocol classes, its broadcast and RTMP relay classes). Re-exported here so
 * that `node-media-server/src/…` is imported only by the NMS 4 adapter; plugin code outside
 * `hosts/nms4/` never uses them.
 */
import Context from "node-media-server/src/core/context.js";
import nmsLogger from "node-media-server/src/core/logger.js";
import Flv from "node-media-server/src/protocol/flv.js";
import Rtmp from "node-media-server/src/protocol/rtmp.js";
import BroadcastServer from "node-media-server/src/server/broadcast_server.js";
import type BaseSession from "node-media-server/src/session/base_session.js";
import RtmpClientSession from "node-media-server/src/session/rtmp_client_session.js";

export { BroadcastServer, Context, Flv, nmsLogger, Rtmp, RtmpClientSession };
export type { BaseSession };
