import type { IncomingMessage, ServerResponse } from "node:http";
import { resolve, sep } from "node:path";
import { readFile, stat } from "node:fs/promises";
import type { Decision } from "../core/decision.js";
import type { AuthRequest } from "../core/auth-request.js";
import type { ViewerSession } from "../core/viewer-session.js";
import type { Clock } from "../core/clock.js";
import { LogRateLimit } from "../core/log-rate-limit.js";
import { admit } from "../gate/admission.js";
import type { ConnectionPort } from "../gate/connection-port.js";
import type { GateContext } from "../gate/gate-context.js";
import { httpRequestFields, type HttpRequestFields } from "../gate/http-request-fields.js";
import type { EdgeLinks } from "./edge-links.js";
import { HlsFileServer } from "./hls-file-server.js";
import { HlsKeyCheck, sessionKeyOf } from "./hls-key-check.js";
import { classifyRequestPath, type HlsTarget } from "./hls-request-path.js";
import { HlsSessionKeys, type HlsSession } from "./hls-session-keys.js";
import type { HotFileCache } from "./hot-file-cache.js";
import { plain } from "./plain-response.js";
import { UnplayedSessions } from "./unplayed-sessions.js";

/** Paths classified once: players ask for the same few paths over and over. Bounded; short paths only. */
const PATH_CACHE_ENTRIES = 4096;
const PATH_CACHE_MAX_LENGTH = 256;
/** An AES-128 key's length: any other file under `hls.keysDir` is not a key. */
const AES_128_KEY_BYTES = 16;

/** How the HLS gate answers requests for channels that do not exist. */
export interface HlsGateOptions {
  /**
   * True: a new viewer of an unknown channel runs the chain like any other, so a refused viewer gets
   * the same 403 whether the channel exists or not (no channel list by probing); an allowed one then
   * gets 404. False: an unknown channel is answered 404 before the chain runs (cheaper, but it tells
   * anyone which channels exist).
   */
  readonly hideUnknownChannels: boolean;
  /** Bytes of hot segment and playlist files held in memory (`hls.segmentCacheBytes`); 0 reads every request from disk. */
  readonly segmentCacheBytes: number;
  /** The clock the cache's re-check interval runs on. */
  readonly clock: Clock;
  /** Edge mode (`hls.edge`): media playlists point their segments at the edge, signed; undefined serves them here. */
  readonly edge?: EdgeLinks | undefined;
  /**
   * Sessions one credential may hold open from one address before fetching a segment (`hls.maxUnplayedPerViewer`);
   * beyond it a new playlist request gets 429. 0 = no bound. Default 8.
   */
  readonly maxUnplayedPerViewer?: number;
  /** Where encrypted channels' keys are (`hls.keysDir`); undefined serves none. */
  readonly keysDir?: string | undefined;
}

/** A refused flood of unplayed sessions is logged once, then at most once per this interval with the count. */
const UNPLAYED_LOG_INTERVAL_MS = 60_000;

/**
 * A classified HLS path with its channel directory and file on disk, made once per distinct path and kept
 * with it: a reload then reuses strings that are already flat and hashed (the file cache's key).
 */
interface HlsPlace {
  readonly target: HlsTarget;
  readonly channelDir: string;
  readonly file: string;
}

/**
 * HlsGate serves HLS from a private directory (`<dir>/<app>/<channel>/…`) on the host's HTTP port,
 * in front of the host's own request handling (a host adapter routes every request to `handle`). It
 * routes: a playlist request without a session key is admitted like any play (the admission pipeline,
 * with the request as its `ConnectionPort`): the chain runs once and, on allow, a session opens whose
 * key every URI in the returned playlist carries, provided the playlist exists (a missing one ends the
 * session at once, as `not-found`, before any limit counts it). Requests with a key go to the key check
 * (`HlsKeyCheck`) and then the file server (`HlsFileServer`). Every other request goes to `next`
 * untouched, except paths with traversal forms, which get 400 before anything is read.
 */
export class HlsGate {
  readonly #ctx: GateContext;
  readonly #keys: HlsSessionKeys;
  readonly #keyCheck: HlsKeyCheck;
  readonly #files: HlsFileServer;

  /** The live session keys (a configuration reload sets their idle time and address binding). */
  get keys(): HlsSessionKeys {
    return this.#keys;
  }
  readonly #root: string;
  readonly #hideUnknownChannels: boolean;
  /** Raw request paths (no query) already classified as HLS files. */
  readonly #paths = new Map<string, HlsPlace>();
  /** Sessions admitted but without a segment yet, per credential and address. */
  readonly #unplayed: UnplayedSessions;
  readonly #unplayedLog: LogRateLimit;
  readonly #keysDir: string | undefined;

  /** The in-memory files (undefined when `segmentCacheBytes` is 0). */
  get cache(): HotFileCache | undefined {
    return this.#files.cache;
  }

  constructor(ctx: GateContext, keys: HlsSessionKeys, dir: string, options: HlsGateOptions) {
    this.#ctx = ctx;
    this.#keys = keys;
    this.#root = resolve(dir);
    this.#hideUnknownChannels = options.hideUnknownChannels;
    this.#keyCheck = new HlsKeyCheck(keys, () => ctx.addressRules.trustedProxies, ctx.log);
    this.#files = new HlsFileServer({
      segmentCacheBytes: options.segmentCacheBytes,
      clock: options.clock,
      edge: options.edge,
      log: ctx.log,
      markPlayed: (session) => this.#markPlayed(session),
    });
    this.#unplayed = new UnplayedSessions(ctx.registry, options.maxUnplayedPerViewer ?? 8);
    this.#unplayedLog = new LogRateLimit(options.clock, UNPLAYED_LOG_INTERVAL_MS);
    this.#keysDir = options.keysDir === undefined ? undefined : resolve(options.keysDir);
  }

  /** Sessions admitted that have not fetched a segment yet. */
  get unplayedSessions(): number {
    return this.#unplayed.size;
  }

  /**
   * Answers an HLS request, or calls `next` for any other request (the host's own handling). Bound,
   * so a host adapter can hand it on as it is.
   */
  readonly handle = (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const rawUrl = req.url ?? "/";
    const queryStart = rawUrl.indexOf("?");
    const rawPath = queryStart < 0 ? rawUrl : rawUrl.slice(0, queryStart);
    const known = this.#paths.get(rawPath);
    if (known !== undefined) {
      if (req.method !== "GET" && req.method !== "HEAD") return plain(res, 405, "Method Not Allowed", { Allow: "GET, HEAD" });
      return this.#serveGuarded(req, res, known, rawUrl, queryStart);
    }
    const target = classifyRequestPath(rawPath);
    if (target.kind === "other") return next();
    if (target.kind === "bad") {
      this.#ctx.log.info({ event: "hls.bad_path", reason: target.reason, ip: req.socket.remoteAddress }, "refused a malformed path");
      return plain(res, 400, "Bad Request");
    }
    if (target.kind === "not-found") return plain(res, 404, "Not Found");
    const place = this.#placeOf(target);
    if (rawPath.length <= PATH_CACHE_MAX_LENGTH) {
      if (this.#paths.size >= PATH_CACHE_ENTRIES) this.#paths.clear();
      this.#paths.set(rawPath, place);
    }
    if (req.method !== "GET" && req.method !== "HEAD") return plain(res, 405, "Method Not Allowed", { Allow: "GET, HEAD" });
    this.#serveGuarded(req, res, place, rawUrl, queryStart);
  };

  /** `#serve`, with a throw or a rejection answered as an internal error. */
  #serveGuarded(req: IncomingMessage, res: ServerResponse, place: HlsPlace, rawUrl: string, queryStart: number): void {
    try {
      const pending = this.#serve(req, res, place, rawUrl, queryStart);
      if (pending !== undefined) pending.catch((error: unknown) => this.#failed(res, place.target, error));
    } catch (error) {
      this.#failed(res, place.target, error);
    }
  }

  /** Where a classified path's file is: its names matched classifyRequestPath's safe pattern, so no path.join normalization. */
  #placeOf(target: HlsTarget): HlsPlace {
    const channelDir = `${this.#root}${sep}${target.app}${sep}${target.channel}`;
    return { target, channelDir, file: `${channelDir}${sep}${target.file}` };
  }

  /** Answers an internal error: a 500, or a cut response once headers went out. */
  #failed(res: ServerResponse, target: HlsTarget, error: unknown): void {
    this.#ctx.log.error({ event: "hls.failed", err: error, path: target.path }, "HLS request failed");
    if (!res.headersSent) plain(res, 500, "Internal Server Error");
    else res.destroy();
  }

  /** Stops the session keys' sweeper. */
  close(): void {
    this.#unplayed.close();
    this.#keys.close();
    this.#files.cache?.clear();
  }

  /**
   * Answers one HLS request. Synchronous for a keyed request whose file the cache holds (players' reloads
   * and segments, nearly every request): a promise only when it waits (disk, the chain).
   */
  #serve(req: IncomingMessage, res: ServerResponse, place: HlsPlace, rawUrl: string, queryStart: number): Promise<void> | void {
    const { target, channelDir } = place;
    const key = queryStart < 0 ? null : sessionKeyOf(rawUrl.slice(queryStart + 1));
    if (key !== null) {
      // A keyed request is served against the live session only: it needs the address, not the chain's fields.
      const keyed = this.#keyCheck.check(req, res, target, key);
      if (keyed === null) return;
      if (target.extension === "key") return this.#sendKey(req, res, target);
      return this.#files.sendFile(req, res, place.file, target, keyed.session, keyed.address);
    }
    return this.#serveNewViewer(req, res, target, rawUrl, channelDir);
  }

  /** A request without a session key: a new viewer's playlist runs the admission pipeline; anything else is refused. */
  async #serveNewViewer(req: IncomingMessage, res: ServerResponse, target: HlsTarget, rawUrl: string, channelDir: string): Promise<void> {
    // Only new viewers need the check, and only when unknown channels may be told apart from refused ones.
    if (!this.#hideUnknownChannels && !(await isDirectory(channelDir))) return plain(res, 404, "Not Found");
    // Decoded once, here where the new viewer's request enters; the pipeline builds the chain's request of it.
    const fields = httpRequestFields(req, rawUrl, this.#ctx.addressRules.trustedProxies);
    // Only a playlist (HLS) or a manifest (DASH) opens a session; segments need its key.
    if (target.extension !== "m3u8" && target.extension !== "mpd") return plain(res, 403, "Forbidden");
    await admit(this.#ctx, this.#portOf(req, res, channelDir, target, fields));
  }

  /** A new viewer's playlist request as the admission pipeline's port: the playlist is read before admission. */
  #portOf(req: IncomingMessage, res: ServerResponse, channelDir: string, target: HlsTarget, fields: HttpRequestFields): ConnectionPort {
    const key = HlsSessionKeys.newKey();
    let session: HlsSession | undefined;
    let playlist: string | null = null;
    return {
      protocol: "hls",
      app: target.app,
      channel: target.channel,
      fields,
      checksPlayFields: false,
      transport: { bytesOut: () => session?.bytesOut ?? 0, close: () => this.#keys.revoke(key) },
      isGone: () => res.destroyed || req.socket.destroyed,
      refuse: (decision: Decision) => this.#refuse(res, decision),
      cut: () => {
        if (!res.headersSent) plain(res, 500, "Internal Server Error");
        else res.destroy();
      },
      // Counted before the playlist is read, so concurrent requests cannot all slip under the bound.
      hold: (viewer: ViewerSession, request: AuthRequest, decision: Decision & { verdict: "allow" }) => {
        if (decision.step === "internal" || this.#unplayed.take(viewer, request, decision.user)) return false;
        const count = this.#unplayedLog.hit();
        if (count > 0)
          this.#ctx.log.warn(
            { event: "hls.unplayed_refused", ip: fields.ip, path: target.path, occurrences: count },
            "too many HLS sessions of one credential that fetched no segment: refused",
          );
        plain(res, 429, "Too Many Requests", { "Retry-After": "5" });
        return true;
      },
      // Read before admission: a missing playlist (unknown channel, wrong file, not on air yet) must not
      // leave a playing session behind that counts against the viewer's limits, nor close an older one.
      prepare: async () => {
        playlist = await this.#files.readPlaylist(channelDir, target.file);
        if (playlist === null) {
          plain(res, 404, "Not Found");
          return false;
        }
        // A master without CODECS and RESOLUTION is never answered: held while the packager's probe is pending.
        if (target.extension === "m3u8" && !(await this.#files.variantInfoReady(channelDir, playlist, target.file))) {
          plain(res, 503, "Service Unavailable", { "Retry-After": "1" });
          return false;
        }
        return true;
      },
      play: (viewer: ViewerSession) => {
        session = { key, viewer, app: target.app, channel: target.channel, address: fields.address, bytesOut: 0 };
        this.#keys.add(session);
        this.#files
          .sendNewPlaylist(req, res, channelDir, target, playlist!, session)
          .catch((error: unknown) => this.#failed(res, target, error));
        return null;
      },
    };
  }

  /**
   * An encrypted channel's AES-128 key to a session the key check let through (live, this channel, its
   * address; the lookup counted as activity): 16 bytes from `hls.keysDir`, never stored by any cache.
   * A key the packager no longer lists (removed) or a gate without `keysDir` answers 404.
   */
  async #sendKey(req: IncomingMessage, res: ServerResponse, target: HlsTarget): Promise<void> {
    if (this.#keysDir === undefined) return plain(res, 404, "Not Found");
    const key = await readFile(`${this.#keysDir}${sep}${target.app}${sep}${target.channel}${sep}${target.file}`).catch(() => null);
    if (key === null || key.length !== AES_128_KEY_BYTES) return plain(res, 404, "Not Found");
    res.writeHead(200, {
      "Content-Type": "application/octet-stream",
      "Content-Length": String(AES_128_KEY_BYTES),
      "Cache-Control": "no-store",
      "Access-Control-Allow-Origin": "*",
    });
    res.end(req.method === "HEAD" ? undefined : key);
  }

  #refuse(res: ServerResponse, decision: Decision): void {
    if (decision.verdict === "deny" && decision.redirectUrl !== undefined) {
      res.writeHead(302, { Location: decision.redirectUrl, "Cache-Control": "no-store", "Content-Length": "0" });
      res.end();
      return;
    }
    plain(res, 403, "Forbidden");
  }

  /** The session fetched media: it plays from now on (statistics) and no longer counts as unplayed. */
  #markPlayed(session: HlsSession): void {
    if (session.viewer.mediaSince !== undefined) return;
    this.#ctx.registry.touch(session.viewer, true);
    this.#unplayed.played(session.viewer);
  }
}

async function isDirectory(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => null);
  return info?.isDirectory() === true;
}
