import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join, resolve, sep } from "node:path";
import type { Decision } from "../core/decision.js";
import type { AuthRequest } from "../core/auth-request.js";
import { admit } from "../gate/admission.js";
import type { GateContext } from "../gate/gate-context.js";
import { httpRequestFields, type HttpRequestFields } from "../gate/http-request-fields.js";
import { classifyRequestPath, HLS_CONTENT_TYPES } from "./hls-request-path.js";
import type { ViewerSession } from "../core/viewer-session.js";
import { HlsSessionKeys, type HlsSession } from "./hls-session-keys.js";
import type { Clock } from "../core/clock.js";
import type { Socket } from "node:net";
import { resolveClientAddress } from "../net/client-address.js";
import { parseIpAddress, type IpAddress } from "../net/ip-address.js";
import { parseByteRange, type ByteRange } from "./byte-range.js";
import { etagMatches } from "./etag-matches.js";
import { HotFileCache, type CachedFile } from "./hot-file-cache.js";
import { UnplayedSessions } from "./unplayed-sessions.js";
import { LogRateLimit } from "../core/log-rate-limit.js";
import { PreparedPlaylist } from "./prepared-playlist.js";
import type { EdgeLinks, EdgeUrlOf } from "./edge-links.js";
import { estimateBandwidth, HLS_SESSION_PARAM, isMultivariant, rewriteMpd, rewritePlaylist, segmentsOf, VARIANT_INFO_PLAYLIST, variantAttributesOf, wrapperPlaylist } from "./playlist-rewriter.js";

type HlsTarget = { app: string; channel: string; file: string; extension: string; path: string };

/** Paths classified once: players ask for the same few paths over and over. Bounded; short paths only. */
const PATH_CACHE_ENTRIES = 4096;
const PATH_CACHE_MAX_LENGTH = 256;

/** `vas=` where a query's parameter starts. */
const KEY_PREFIX = `${HLS_SESSION_PARAM}=`;

/** One playlist version as served: prepared once, with its response headers made once per body length. */
interface ServedPlaylist {
  readonly prepared: PreparedPlaylist;
  /** The version's entity tag; null when the body also changes with time (edge links expire). */
  readonly etag: string | null;
  headersBytes: number;
  headers: string[];
}

/** Used when a playlist's segments cannot be measured yet (bits/s). */
const FALLBACK_BANDWIDTH = 2_000_000;

/**
 * How long a cached file is served without a `stat` to see whether ffmpeg rewrote or deleted it. Live
 * playlists change once per segment (seconds): a quarter second of staleness costs a player nothing.
 */
const CACHE_RECHECK_MS = 250;

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
}

/** A refused flood of unplayed sessions is logged once, then at most once per this interval with the count. */
const UNPLAYED_LOG_INTERVAL_MS = 60_000;

/**
 * HlsGate serves HLS from a private directory (`<dir>/<app>/<channel>/…`) on the host's HTTP port,
 * in front of the host's own request handling (a host adapter routes every request to `handle`). A
 * playlist request without a session key is admitted like any play (`admit`): the chain runs once
 * and, on allow, a session opens whose key every URI in the returned playlist carries, provided the
 * playlist exists (a missing one ends the session at once, as `not-found`, before any limit counts
 * it). Requests with a key are checked against the live session only. Every other request goes to
 * `next` untouched, except paths with traversal forms, which get 400 before anything is read.
 */
export class HlsGate {
  readonly #ctx: GateContext;
  readonly #keys: HlsSessionKeys;

  /** The live session keys (a configuration reload sets their idle time and address binding). */
  get keys(): HlsSessionKeys {
    return this.#keys;
  }
  readonly #root: string;
  readonly #hideUnknownChannels: boolean;
  readonly #cache: HotFileCache | undefined;
  readonly #edge: EdgeLinks | undefined;
  /** Each cached playlist version rewritten once; it lives as long as the cache holds that version. */
  readonly #prepared = new WeakMap<CachedFile, ServedPlaylist>();
  /** Each cached segment version's 200 headers, made once. */
  readonly #segmentHeaders = new WeakMap<CachedFile, string[]>();
  /** Raw request paths (no query) already classified as HLS files. */
  readonly #paths = new Map<string, HlsTarget>();
  /** Each open connection's parsed peer address; gone with the socket. */
  readonly #peers = new WeakMap<Socket, IpAddress | null>();
  /** Sessions admitted but without a segment yet, per credential and address. */
  readonly #unplayed: UnplayedSessions;
  readonly #unplayedLog: LogRateLimit;

  /** The in-memory files (undefined when `segmentCacheBytes` is 0). */
  get cache(): HotFileCache | undefined {
    return this.#cache;
  }

  constructor(ctx: GateContext, keys: HlsSessionKeys, dir: string, options: HlsGateOptions) {
    this.#ctx = ctx;
    this.#keys = keys;
    this.#root = resolve(dir);
    this.#hideUnknownChannels = options.hideUnknownChannels;
    this.#edge = options.edge;
    this.#cache = options.segmentCacheBytes > 0 ? new HotFileCache(options.segmentCacheBytes, CACHE_RECHECK_MS, options.clock) : undefined;
    this.#unplayed = new UnplayedSessions(ctx.registry, options.maxUnplayedPerViewer ?? 8);
    this.#unplayedLog = new LogRateLimit(options.clock, UNPLAYED_LOG_INTERVAL_MS);
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
      return void this.#serve(req, res, known, rawUrl, queryStart).catch((error: unknown) => this.#failed(res, known, error));
    }
    const target = classifyRequestPath(rawPath);
    if (target.kind === "other") return next();
    if (target.kind === "bad") {
      this.#ctx.log.info({ event: "hls.bad_path", reason: target.reason, ip: req.socket.remoteAddress }, "refused a malformed path");
      return plain(res, 400, "Bad Request");
    }
    if (target.kind === "not-found") return plain(res, 404, "Not Found");
    if (rawPath.length <= PATH_CACHE_MAX_LENGTH) {
      if (this.#paths.size >= PATH_CACHE_ENTRIES) this.#paths.clear();
      this.#paths.set(rawPath, target);
    }
    if (req.method !== "GET" && req.method !== "HEAD") return plain(res, 405, "Method Not Allowed", { Allow: "GET, HEAD" });
    this.#serve(req, res, target, rawUrl, queryStart).catch((error: unknown) => this.#failed(res, target, error));
  };

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
    this.#cache?.clear();
  }

  async #serve(req: IncomingMessage, res: ServerResponse, target: HlsTarget, rawUrl: string, queryStart: number): Promise<void> {
    // The names matched classifyRequestPath's safe pattern: no need for path.join's normalization.
    const channelDir = `${this.#root}${sep}${target.app}${sep}${target.channel}`;
    const key = queryStart < 0 ? null : sessionKeyOf(rawUrl.slice(queryStart + 1));
    if (key !== null) {
      // A keyed request is served against the live session only: it needs the address, not the chain's fields.
      const peer = this.#peerOf(req);
      const address = resolveClientAddress(peer, req.headers["x-forwarded-for"], this.#ctx.addressRules.trustedProxies);
      const session = this.#keys.lookup(key, target.app, target.channel, address);
      if (typeof session === "string") {
        this.#ctx.log.info({ event: "hls.key_refused", reason: session, ip: address?.text ?? req.socket.remoteAddress ?? "", path: target.path }, "HLS request refused");
        return plain(res, 403, "Forbidden");
      }
      return this.#sendFile(req, res, channelDir, target, session, address);
    }
    // Only new viewers need the check, and only when unknown channels may be told apart from refused ones.
    if (!this.#hideUnknownChannels && !(await isDirectory(channelDir))) return plain(res, 404, "Not Found");
    const fields = httpRequestFields(req, rawUrl, this.#ctx.addressRules.trustedProxies);
    // Only a playlist (HLS) or a manifest (DASH) opens a session; segments need its key.
    if (target.extension !== "m3u8" && target.extension !== "mpd") return plain(res, 403, "Forbidden");
    await admit(this.#ctx, this.#newViewer(req, res, channelDir, target, fields));
  }

  /** A new viewer's playlist request as `admit` sees it: the playlist is read before admission. */
  #newViewer(req: IncomingMessage, res: ServerResponse, channelDir: string, target: HlsTarget, fields: HttpRequestFields) {
    const key = HlsSessionKeys.newKey();
    let session: HlsSession | undefined;
    let playlist: string | null = null;
    return {
      start: {
        protocol: "hls" as const, app: target.app, channel: target.channel, ip: fields.ip, userAgent: fields.userAgent,
        transport: { bytesOut: () => session?.bytesOut ?? 0, close: () => this.#keys.revoke(key) },
      },
      requestOf: (viewer: ViewerSession) => ({ ...fields, sessionId: viewer.id, protocol: "hls" as const, app: target.app, channel: target.channel, purpose: "new" as const, requestNumber: 1 }),
      isGone: () => res.destroyed || req.socket.destroyed,
      refuse: (decision: Decision) => this.#refuse(res, decision),
      // Counted before the playlist is read, so concurrent requests cannot all slip under the bound.
      hold: (viewer: ViewerSession, request: AuthRequest, decision: Decision & { verdict: "allow" }) => {
        if (decision.step === "internal" || this.#unplayed.take(viewer, request, decision.user)) return false;
        const count = this.#unplayedLog.hit();
        if (count > 0) this.#ctx.log.warn({ event: "hls.unplayed_refused", ip: fields.ip, path: target.path, occurrences: count }, "too many HLS sessions of one credential that fetched no segment: refused");
        plain(res, 429, "Too Many Requests", { "Retry-After": "5" });
        return true;
      },
      // Read before admission: a missing playlist (unknown channel, wrong file, not on air yet) must not
      // leave a playing session behind that counts against the viewer's limits, nor close an older one.
      prepare: async () => {
        playlist = await readTextOrNull(join(channelDir, target.file));
        if (playlist === null) plain(res, 404, "Not Found");
        return playlist !== null;
      },
      play: (viewer: ViewerSession) => {
        session = { key, viewer, app: target.app, channel: target.channel, address: fields.address, bytesOut: 0 };
        this.#keys.add(session);
        this.#sendNewPlaylist(req, res, channelDir, target, playlist!, session).catch((error: unknown) => this.#failed(res, target, error));
      },
    };
  }

  /** The first playlist of a session: a multivariant one rewritten, a media one wrapped with its bandwidth. */
  async #sendNewPlaylist(req: IncomingMessage, res: ServerResponse, channelDir: string, target: HlsTarget, playlist: string, session: HlsSession): Promise<void> {
    if (target.extension === "mpd") return this.#sendPlaylist(req, res, rewriteMpd(playlist, session.key), session, undefined, "mpd");
    const body = isMultivariant(playlist)
      ? rewritePlaylist(playlist, session.key)
      : wrapperPlaylist(target.file, session.key, (await this.#bandwidthOf(channelDir, playlist)) ?? FALLBACK_BANDWIDTH, await this.#variantAttributes(channelDir, target.file));
    this.#sendPlaylist(req, res, body, session);
  }

  #refuse(res: ServerResponse, decision: Decision): void {
    if (decision.verdict === "deny" && decision.redirectUrl !== undefined) {
      res.writeHead(302, { Location: decision.redirectUrl, "Cache-Control": "no-store", "Content-Length": "0" });
      res.end();
      return;
    }
    plain(res, 403, "Forbidden");
  }

  async #sendFile(req: IncomingMessage, res: ServerResponse, channelDir: string, target: HlsTarget, session: HlsSession, address: IpAddress | null): Promise<void> {
    const file = `${channelDir}${sep}${target.file}`;
    if (target.file.includes(sep) || target.file.startsWith(".")) return plain(res, 400, "Bad Request"); // defence in depth
    const got = this.#cache?.get(file);
    const cached = got instanceof Promise ? await got : got;
    if (cached === null) return plain(res, 404, "Not Found");
    if (target.extension === "mpd") {
      const mpd = cached !== undefined ? cached.body.toString("utf8") : await readTextOrNull(file);
      if (mpd === null) return plain(res, 404, "Not Found");
      return this.#sendPlaylist(req, res, rewriteMpd(mpd, session.key), session, undefined, "mpd");
    }
    if (target.extension === "m3u8") {
      let served: ServedPlaylist;
      if (cached !== undefined) served = this.#preparedOf(cached);
      else {
        const playlist = await readTextOrNull(file);
        if (playlist === null) return plain(res, 404, "Not Found");
        served = this.#servedPlaylist(playlist, null);
      }
      return this.#sendKeyedPlaylist(req, res, target, served, session, address);
    }
    // A segment request is media: the session plays from now on (statistics, and the unplayed bound).
    this.#markPlayed(session);
    if (cached !== undefined) {
      const plainGet = req.method === "GET" && req.headers.range === undefined && req.headers["if-none-match"] === undefined;
      if (plainGet) {
        // The common request, a whole segment: headers made once per cached version.
        res.writeHead(200, this.#segmentHeadersOf(cached, target.extension));
        session.bytesOut += cached.body.length;
        return void res.end(cached.body);
      }
      return sendSegment(req, res, target, cached.body.length, cached.etag, (range) => {
        const body = range === null ? cached.body : cached.body.subarray(range.start, range.end + 1);
        session.bytesOut += body.length;
        res.end(body);
      });
    }
    // Not cached (the cache is off, or the file is too big for it): streamed from disk.
    const info = await stat(file).catch(() => null);
    if (info === null || !info.isFile()) return plain(res, 404, "Not Found");
    const etag = `"${info.size.toString(16)}-${Math.round(info.mtimeMs * 1000).toString(16)}-${info.ino.toString(16)}"`;
    return sendSegment(req, res, target, info.size, etag, (range) => {
      const stream = createReadStream(file, range === null ? {} : { start: range.start, end: range.end });
      stream.on("data", (chunk) => (session.bytesOut += chunk.length));
      stream.on("error", () => res.destroy());
      res.on("close", () => stream.destroy());
      stream.pipe(res);
    });
  }

  /** The session fetched media: it plays from now on (statistics) and no longer counts as unplayed. */
  #markPlayed(session: HlsSession): void {
    if (session.viewer.mediaSince !== undefined) return;
    this.#ctx.registry.touch(session.viewer, true);
    this.#unplayed.played(session.viewer);
  }

  /** The socket's peer address, parsed once per connection (a player sends all its requests on one). */
  #peerOf(req: IncomingMessage): IpAddress | null {
    const socket = req.socket;
    let peer = this.#peers.get(socket);
    if (peer === undefined) {
      peer = socket.remoteAddress === undefined ? null : parseIpAddress(socket.remoteAddress);
      this.#peers.set(socket, peer);
    }
    return peer;
  }

  #segmentHeadersOf(file: CachedFile, extension: string): string[] {
    let headers = this.#segmentHeaders.get(file);
    if (headers === undefined) {
      headers = Object.entries({ ...segmentHeaders(extension, file.etag), "Content-Length": String(file.body.length) }).flat();
      this.#segmentHeaders.set(file, headers);
    }
    return headers;
  }

  #preparedOf(file: CachedFile): ServedPlaylist {
    let served = this.#prepared.get(file);
    if (served === undefined) {
      served = this.#servedPlaylist(file.body.toString("utf8"), file.etag);
      this.#prepared.set(file, served);
    }
    return served;
  }

  #servedPlaylist(text: string, etag: string | null): ServedPlaylist {
    const prepared = PreparedPlaylist.of(text, this.#edge !== undefined);
    return { prepared, etag: prepared.keyOnly ? etag : null, headersBytes: -1, headers: [] };
  }

  /**
   * A playlist to a session that has its key: the prepared version joined with the key (and, in edge mode,
   * the segments' signed edge links). 304 when `If-None-Match` names the version (key-only bodies only).
   */
  #sendKeyedPlaylist(req: IncomingMessage, res: ServerResponse, target: HlsTarget, served: ServedPlaylist, session: HlsSession, address: IpAddress | null): void {
    if (served.etag !== null && etagMatches(req.headers["if-none-match"], served.etag)) {
      res.writeHead(304, { ETag: served.etag, "Cache-Control": "private, no-store" });
      return void res.end();
    }
    let edgeUrl: EdgeUrlOf | undefined;
    if (!served.prepared.keyOnly) {
      edgeUrl = this.#edge!.forViewer(target.app, target.channel, address) ?? undefined;
      if (edgeUrl === undefined) {
        this.#ctx.log.warn({ event: "hls.edge_unsigned", path: target.path }, "no viewer address to bind the edge links to");
        return plain(res, 403, "Forbidden");
      }
    }
    // In edge mode segments are fetched from nginx, never here: a media playlist with edge links is the last the gate sees before media.
    if (edgeUrl !== undefined) this.#markPlayed(session);
    const { text, bytes } = served.prepared.render(session.key, edgeUrl);
    if (served.headersBytes !== bytes) {
      served.headers = playlistHeaders(bytes, served.etag);
      served.headersBytes = bytes;
    }
    res.writeHead(200, served.headers);
    if (req.method === "HEAD") return void res.end();
    session.bytesOut += bytes;
    res.end(text, "utf8");
  }

  /** Sends a playlist (or a DASH manifest); `bytes` is its UTF-8 length when the caller knows it. */
  #sendPlaylist(req: IncomingMessage, res: ServerResponse, body: string, session: HlsSession, bytes = Buffer.byteLength(body, "utf8"), extension: "m3u8" | "mpd" = "m3u8"): void {
    res.writeHead(200, {
      "Content-Type": HLS_CONTENT_TYPES[extension]!,
      "Content-Length": String(bytes),
      // Playlists carry a session key and change every segment: never cache them in a shared cache.
      "Cache-Control": "private, no-store",
      "Access-Control-Allow-Origin": "*",
    });
    if (req.method === "HEAD") return void res.end();
    session.bytesOut += bytes;
    res.end(body, "utf8");
  }

  /** The variant's attributes from the master playlist beside it, when the packager wrote one. */
  async #variantAttributes(channelDir: string, mediaFile: string): Promise<string | null> {
    if (mediaFile === VARIANT_INFO_PLAYLIST) return null;
    const master = await readTextOrNull(join(channelDir, VARIANT_INFO_PLAYLIST));
    return master === null || !isMultivariant(master) ? null : variantAttributesOf(master, mediaFile);
  }

  async #bandwidthOf(channelDir: string, playlist: string): Promise<number | null> {
    const segments = segmentsOf(playlist).slice(-3);
    const measured = await Promise.all(segments.map(async (s) => {
      const info = await stat(join(channelDir, s.uri.split("?")[0] ?? "")).catch(() => null);
      return { durationSec: s.durationSec, bytes: info?.size ?? 0 };
    }));
    return estimateBandwidth(measured);
  }
}

/**
 * Answers a segment request: 304 when `If-None-Match` names this version, 416 for a range the file cannot
 * satisfy, 206 for one it can, else 200; HEAD gets the headers only. `send` writes the body (all of it,
 * or the range) and counts the session's bytes.
 */
function sendSegment(req: IncomingMessage, res: ServerResponse, target: HlsTarget, size: number, etag: string, send: (range: ByteRange | null) => void): void {
  const headers = segmentHeaders(target.extension, etag);
  if (etagMatches(req.headers["if-none-match"], etag)) {
    res.writeHead(304, headers);
    return void res.end();
  }
  const ifRange = req.headers["if-range"];
  const range = ifRange === undefined || ifRange === etag ? parseByteRange(req.headers.range, size) : null;
  if (range === "unsatisfiable") {
    const body = "Range Not Satisfiable\n";
    res.writeHead(416, { ...headers, "Content-Type": "text/plain; charset=utf-8", "Content-Range": `bytes */${size}`, "Content-Length": String(body.length) });
    return void res.end(req.method === "HEAD" ? undefined : body);
  }
  if (range === null) res.writeHead(200, { ...headers, "Content-Length": String(size) });
  else res.writeHead(206, { ...headers, "Content-Range": `bytes ${range.start}-${range.end}/${size}`, "Content-Length": String(range.end - range.start + 1) });
  if (req.method === "HEAD") return void res.end();
  send(range);
}

/** A playlist response's headers, as the flat list `writeHead` takes. */
function playlistHeaders(bytes: number, etag: string | null): string[] {
  const headers = [
    "Content-Type", HLS_CONTENT_TYPES.m3u8!,
    "Content-Length", String(bytes),
    // Playlists carry a session key and change every segment: never cache them in a shared cache.
    "Cache-Control", "private, no-store",
    "Access-Control-Allow-Origin", "*",
  ];
  if (etag !== null) headers.push("ETag", etag);
  return headers;
}

/**
 * The session key in a query (the first `vas` parameter, as URLSearchParams reads it). The form the gate
 * writes, a query starting with `vas=<key>` and nothing encoded, is read without parsing; any other takes
 * the parser, so both read every query alike.
 */
function sessionKeyOf(query: string): string | null {
  if (!query.startsWith(KEY_PREFIX) || query.includes("%") || query.includes("+")) return new URLSearchParams(query).get(HLS_SESSION_PARAM);
  const end = query.indexOf("&");
  return query.slice(KEY_PREFIX.length, end < 0 ? undefined : end);
}

/** A segment response's headers, but its length and range. */
function segmentHeaders(extension: string, etag: string): Record<string, string> {
  return {
    "Content-Type": HLS_CONTENT_TYPES[extension] ?? "application/octet-stream",
    // The URL carries a session key: private caches only.
    "Cache-Control": "private, max-age=60",
    "Access-Control-Allow-Origin": "*",
    "Accept-Ranges": "bytes",
    ETag: etag,
  };
}

function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  const body = `${text}\n`;
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": String(body.length), "Cache-Control": "no-store", ...headers });
  res.end(body);
}

async function isDirectory(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => null);
  return info?.isDirectory() === true;
}

async function readTextOrNull(file: string): Promise<string | null> {
  return readFile(file, "utf8").catch(() => null);
}
