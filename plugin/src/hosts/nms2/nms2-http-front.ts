import type { IncomingMessage, ServerResponse } from "node:http";
import { NmsIncompatibleError } from "../../core/errors.js";
import type { HttpFrontHandler } from "../host-adapter.js";
import type { Nms2Config, Nms2HttpServer } from "./nms2-internals.js";

type Middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/** One layer of an express 4 router stack (the fields the front reads and swaps). */
interface ExpressLayer {
  name: string;
  handle: Middleware;
}

/** The express 4 app NMS 2.7 builds in `NodeHttpServer`'s constructor (a local variable there). */
interface ExpressApp {
  _router?: { stack?: ExpressLayer[] };
}

/** What the front changed on one NMS HTTP server, to put it back. */
export interface SplicedFront {
  readonly layer: ExpressLayer;
  readonly original: Middleware;
  readonly originalName: string;
}

/**
 * Puts the HLS gate where NMS 2.7 serves its `mediaroot`. NMS's express app ends with
 * `express.static(<NMS>/public)`, `express.static(mediaroot)` and, when set, `express.static(webroot)`
 * (src/node_http_server.js): everything under mediaroot — trans playlists, segments, DASH manifests,
 * mp4 recordings — is public on the HTTP port, and on the HTTPS port, which serves the same app. The
 * front replaces the mediaroot layer with the gate: the gate serves the HLS folder under its sessions,
 * and nothing else under mediaroot is served at all (a DASH manifest gets 404). Routes before it (CORS,
 * `*.flv`, `/admin`, `/api/*` under NMS's own `auth.api`) are NMS's as before.
 *
 * The app is found as the HTTP server's `request` listener; the mediaroot layer as the second of the
 * `serveStatic` layers, after checking there are as many as the configuration makes. Anything else
 * throws: the front never guesses, and an unexpected shape must not leave mediaroot open.
 */
export function spliceHttpFront(server: Nms2HttpServer, config: Nms2Config, handler: HttpFrontHandler): SplicedFront {
  const listeners = server.httpServer.listeners("request");
  const app = listeners[0] as ExpressApp | undefined;
  const stack = app?._router?.stack;
  if (listeners.length !== 1 || !Array.isArray(stack))
    throw new NmsIncompatibleError("NMS 2.7's HTTP server has no express 4 app as its request listener");
  const statics = stack.filter((layer) => layer.name === "serveStatic");
  const expected = 2 + (config.http?.webroot ? 1 : 0);
  if (statics.length !== expected)
    throw new NmsIncompatibleError(
      `NMS 2.7's express app has ${statics.length} static layers, expected ${expected} (public, mediaroot${expected === 3 ? ", webroot" : ""})`,
    );
  const layer = statics[1]!;
  const spliced: SplicedFront = { layer, original: layer.handle, originalName: layer.name };
  const gate: Middleware = (req, res, next) => handler(req, res, next);
  layer.handle = gate;
  layer.name = "nmsViewerAuthHlsGate";
  return spliced;
}

/** Puts NMS's own mediaroot layer back. */
export function unspliceHttpFront(front: SplicedFront): void {
  front.layer.handle = front.original;
  front.layer.name = front.originalName;
}
