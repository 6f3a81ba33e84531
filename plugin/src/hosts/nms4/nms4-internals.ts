/**
 * node-media-server 4 internals the NMS 4 adapter wraps (the process-wide Context of sessions and
 * broadcasts, NMS's logger, its RTMP and FLV protocol classes, its broadcast and server classes),
 * loaded from the copy of NMS that the app's instance came from, never from the plugin's own
 * resolution: an app with its own NMS beside the plugin's would otherwise get a gate on a copy it
 * never runs (measured: a viewer with no token got 200 and 76 KB of media). Only types are imported
 * from `node-media-server/src/…` here; plugin code outside `hosts/nms4/` never uses them.
 */
import type NodeMediaServer from "node-media-server";
import type ContextType from "node-media-server/src/core/context.js";
import type NmsLogger from "node-media-server/src/core/logger.js";
import type FlvType from "node-media-server/src/protocol/flv.js";
import type RtmpType from "node-media-server/src/protocol/rtmp.js";
import type BroadcastServerType from "node-media-server/src/server/broadcast_server.js";
import type BaseSession from "node-media-server/src/session/base_session.js";
import type RtmpClientSessionType from "node-media-server/src/session/rtmp_client_session.js";
import type RtspClientSessionType from "node-media-server/src/session/rtsp_client_session.js";
import { NmsIncompatibleError, NmsInstanceError, NmsUnsupportedVersionError } from "../../core/errors.js";
import { hostPackageOf, isSupportedNmsVersion, SUPPORTED_NMS_RANGE, type HostPackage } from "../host-package.js";

export type { BaseSession };

/** A class as a value: what `require` returns for NMS's class modules. */
type ClassOf<T> = abstract new (...args: never[]) => T;

/** The NMS 4.4.3 modules the adapter uses, all from one installed copy. */
export interface Nms4Internals {
  /** The copy they come from: its folder and version. */
  readonly host: HostPackage;
  readonly Context: typeof ContextType;
  readonly nmsLogger: typeof NmsLogger;
  readonly Flv: typeof FlvType;
  readonly Rtmp: typeof RtmpType;
  readonly BroadcastServer: typeof BroadcastServerType;
  readonly decodeAmf0Cmd: (buffer: Buffer) => Record<string, unknown>;
  readonly decodeAmf0Data: (buffer: Buffer) => Record<string, unknown>;
  readonly NodeHttpServer: ClassOf<NodeMediaServer["httpServer"]>;
  readonly NodeRtmpServer: ClassOf<NodeMediaServer["rtmpServer"]>;
  /** The outbound relay sessions NMS's API starts (publishers the server owns, not clients). */
  readonly RtmpClientSession: typeof RtmpClientSessionType;
  readonly RtspClientSession: typeof RtspClientSessionType;
}

/** The node-media-server line the NMS 4 adapter is written for. */
const NMS4_LINE = /^4\./;

/**
 * The internals of the NMS copy `nms` was created from, after proving they are the ones `nms` uses.
 * Throws NmsUnsupportedVersionError for a release the plugin does not support (naming those it does),
 * NmsIncompatibleError for a supported release of another line, NmsInstanceError when the copy cannot
 * be found or its internals are not the instance's.
 */
export function nms4InternalsOf(nms: object): Nms4Internals {
  const host = hostPackageOf(nms);
  if (!isSupportedNmsVersion(host.version)) throw new NmsUnsupportedVersionError(host.version, SUPPORTED_NMS_RANGE);
  if (!NMS4_LINE.test(host.version))
    throw new NmsIncompatibleError(`the NMS 4 adapter was given a node-media-server ${host.version} instance`);
  const internals = loadNms4Internals(host);
  assertSameInstance(nms as NodeMediaServer, internals);
  return internals;
}

/** Loads the internals from one installed copy (tests pass the copy they started NMS from). */
export function loadNms4Internals(host: HostPackage): Nms4Internals {
  const load = (file: string): unknown => host.require(`./${file}`);
  const amf = load("src/protocol/amf.js") as Pick<Nms4Internals, "decodeAmf0Cmd" | "decodeAmf0Data">;
  return {
    host,
    Context: load("src/core/context.js") as Nms4Internals["Context"],
    nmsLogger: load("src/core/logger.js") as Nms4Internals["nmsLogger"],
    Flv: load("src/protocol/flv.js") as Nms4Internals["Flv"],
    Rtmp: load("src/protocol/rtmp.js") as Nms4Internals["Rtmp"],
    BroadcastServer: load("src/server/broadcast_server.js") as Nms4Internals["BroadcastServer"],
    decodeAmf0Cmd: amf.decodeAmf0Cmd,
    decodeAmf0Data: amf.decodeAmf0Data,
    NodeHttpServer: load("src/server/http_server.js") as Nms4Internals["NodeHttpServer"],
    NodeRtmpServer: load("src/server/rtmp_server.js") as Nms4Internals["NodeRtmpServer"],
    RtmpClientSession: load("src/session/rtmp_client_session.js") as Nms4Internals["RtmpClientSession"],
    RtspClientSession: load("src/session/rtsp_client_session.js") as Nms4Internals["RtspClientSession"],
  };
}

/**
 * Proves the instance runs on these internals: its constructor stores the same LightweightStore in
 * itself and in its copy's Context, and its HTTP and RTMP servers are that copy's classes. NMS keeps
 * one process-wide Context that each constructor overwrites, so an instance constructed before another
 * one is refused too: that Context is no longer the one it was built with.
 */
function assertSameInstance(nms: NodeMediaServer, internals: Nms4Internals): void {
  const { Context, NodeHttpServer, NodeRtmpServer, host } = internals;
  if (nms.store === undefined || nms.store !== Context.store) {
    throw new NmsInstanceError(
      `the Context of ${host.root} does not hold this instance's store (a copy the instance does not use, or another instance created after it)`,
    );
  }
  if (!(nms.httpServer instanceof NodeHttpServer) || !(nms.rtmpServer instanceof NodeRtmpServer)) {
    throw new NmsInstanceError(`its HTTP and RTMP servers are not the classes of ${host.root}`);
  }
}
