import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join, sep } from "node:path";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/log.js";
import type { IpAddress } from "../net/ip-address.js";
import { requestHeader } from "../net/request-header.js";
import { parseByteRange, type ByteRange } from "./byte-range.js";
import type { EdgeLinks, EdgeUrlOf } from "./edge-links.js";
import { etagMatches } from "./etag-matches.js";
import type { HlsSession } from "./hls-session-keys.js";
import { HLS_CONTENT_TYPES, type HlsTarget } from "./hls-request-path.js";
import { HotFileCache, type CachedFile } from "./hot-file-cache.js";
import { plain } from "./plain-response.js";
import { PreparedPlaylist } from "./prepared-playlist.js";
import {
  estimateBandwidth,
  isMultivariant,
  MASTER_PENDING_FILE,
  rewriteMpd,
  rewritePlaylist,
  segmentsOf,
  targetDurationOf,
  VARIANT_INFO_PLAYLIST,
  variantAttributesOf,
  wrapperPlaylist,
} from "./playlist-rewriter.js";

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

/** How often a held first playlist looks for the master's attributes again. */
const VARIANT_INFO_POLL_MS = 100;
/** The longest a first playlist is held for them: twice the target duration, within these bounds. */
const VARIANT_INFO_HOLD_MIN_MS = 2_000;
const VARIANT_INFO_HOLD_MAX_MS = 10_000;

/** What the file server is built with. */
export interface HlsFileServerOptions {
  /** Bytes of hot segment and playlist files held in memory (`hls.segmentCacheBytes`); 0 reads every request from disk. */
  readonly segmentCacheBytes: number;
  /** The clock the cache's re-check interval runs on. */
  readonly clock: Clock;
  /** Edge mode (`hls.edge`): media playlists point their segments at the edge, signed; undefined serves them here. */
  readonly edge?: EdgeLinks | undefined;
  /** Called when a session fetches media (a segment, or an edge playlist): it plays from then on. */
  readonly markPlayed: (session: HlsSession) => void;
  readonly log: Logger;
}

/**
 * HlsFileServer answers the requests of a session the gate already knows: playlists rewritten with its
 * key (prepared once per cached version, 304 on a matching `If-None-Match`), DASH manifests, and
 * segments from the hot-file cache or streamed from disk, with `Range`/`If-Range`, `ETag` and `HEAD`.
 * It decides nothing: who may fetch is the gate's and the key check's concern.
 */
export class HlsFileServer {
  readonly #cache: HotFileCache | undefined;
  readonly #edge: EdgeLinks | undefined;
  readonly #log: Logger;
  readonly #markPlayed: (session: HlsSession) => void;
  /** Each cached playlist version rewritten once; it lives as long as the cache holds that version. */
  readonly #prepared = new WeakMap<CachedFile, ServedPlaylist>();
  /** Each cached segment version's 200 headers, made once. */
  readonly #segmentHeaders = new WeakMap<CachedFile, string[]>();

  constructor(options: HlsFileServerOptions) {
    this.#cache = options.segmentCacheBytes > 0 ? new HotFileCache(options.segmentCacheBytes, CACHE_RECHECK_MS, options.clock) : undefined;
    this.#edge = options.edge;
    this.#log = options.log;
    this.#markPlayed = options.markPlayed;
  }

  /** The in-memory files (undefined when `segmentCacheBytes` is 0). */
  get cache(): HotFileCache | undefined {
    return this.#cache;
  }

  /** Reads a playlist or manifest from disk; null when it is missing. */
  readPlaylist(channelDir: string, file: string): Promise<string | null> {
    return readTextOrNull(join(channelDir, file));
  }

  /**
   * Whether a media playlist's one-variant master can be answered with CODECS and RESOLUTION: true at
   * once unless the packager marked its master pending (`master.pending` beside it, with no attributes
   * for this variant yet); then it looks again every 100 ms for twice the playlist's target duration
   * (2 to 10 s) and answers whether they arrived.
   */
  async variantInfoReady(channelDir: string, playlist: string, mediaFile: string): Promise<boolean> {
    if (isMultivariant(playlist)) return true;
    const holdMs = Math.min(VARIANT_INFO_HOLD_MAX_MS, Math.max(VARIANT_INFO_HOLD_MIN_MS, 2_000 * (targetDurationOf(playlist) ?? 0)));
    for (let waitedMs = 0; ; waitedMs += VARIANT_INFO_POLL_MS) {
      if ((await this.#variantAttributes(channelDir, mediaFile)) !== null) return true;
      if (!(await exists(join(channelDir, MASTER_PENDING_FILE)))) return true;
      if (waitedMs >= holdMs) return false;
      await new Promise((resolve) => setTimeout(resolve, VARIANT_INFO_POLL_MS));
    }
  }

  /** The first playlist of a session: a multivariant one rewritten, a media one wrapped with its bandwidth. */
  async sendNewPlaylist(
    req: IncomingMessage,
    res: ServerResponse,
    channelDir: string,
    target: HlsTarget,
    playlist: string,
    session: HlsSession,
  ): Promise<void> {
    if (target.extension === "mpd") return this.#sendPlaylist(req, res, rewriteMpd(playlist, session.key), session, undefined, "mpd");
    const body = isMultivariant(playlist)
      ? rewritePlaylist(playlist, session.key)
      : wrapperPlaylist(
          target.file,
          session.key,
          (await this.#bandwidthOf(channelDir, playlist)) ?? FALLBACK_BANDWIDTH,
          await this.#variantAttributes(channelDir, target.file),
        );
    this.#sendPlaylist(req, res, body, session);
  }

  /**
   * Answers a keyed request (its session checked): a playlist or manifest rewritten with the key, or a segment;
   * `file` is the target's file on disk. A file the cache holds and has checked lately is answered
   * synchronously (no promise): the common request, a playlist reload or a segment, costs no microtask
   * hops; a promise only when it waits on disk.
   */
  sendFile(
    req: IncomingMessage,
    res: ServerResponse,
    file: string,
    target: HlsTarget,
    session: HlsSession,
    address: IpAddress | null,
  ): Promise<void> | void {
    if (target.file.includes(sep) || target.file.startsWith(".")) return plain(res, 400, "Bad Request"); // defence in depth
    const got = this.#cache?.get(file);
    if (got instanceof Promise) return got.then((cached) => this.#sendFrom(req, res, file, target, session, address, cached));
    return this.#sendFrom(req, res, file, target, session, address, got);
  }

  /** `sendFile` once the cache answered: its version of the file, null (missing) or undefined (not cached). */
  #sendFrom(
    req: IncomingMessage,
    res: ServerResponse,
    file: string,
    target: HlsTarget,
    session: HlsSession,
    address: IpAddress | null,
    cached: CachedFile | null | undefined,
  ): Promise<void> | void {
    if (cached === null) return plain(res, 404, "Not Found");
    if (cached === undefined) return this.#sendUncached(req, res, file, target, session, address);
    if (target.extension === "mpd")
      return this.#sendPlaylist(req, res, rewriteMpd(cached.body.toString("utf8"), session.key), session, undefined, "mpd");
    if (target.extension === "m3u8") return this.#sendKeyedPlaylist(req, res, target, this.#preparedOf(cached), session, address);
    // A segment request is media: the session plays from now on (statistics, and the unplayed bound).
    this.#markPlayed(session);
    const plainGet = req.method === "GET" && requestHeader(req, "range") === undefined && requestHeader(req, "if-none-match") === undefined;
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

  /** A keyed request for a file the cache does not hold (the cache is off, or the file is too big for it): read or streamed from disk. */
  async #sendUncached(
    req: IncomingMessage,
    res: ServerResponse,
    file: string,
    target: HlsTarget,
    session: HlsSession,
    address: IpAddress | null,
  ): Promise<void> {
    if (target.extension === "mpd") {
      const mpd = await readTextOrNull(file);
      if (mpd === null) return plain(res, 404, "Not Found");
      return this.#sendPlaylist(req, res, rewriteMpd(mpd, session.key), session, undefined, "mpd");
    }
    if (target.extension === "m3u8") {
      const playlist = await readTextOrNull(file);
      if (playlist === null) return plain(res, 404, "Not Found");
      return this.#sendKeyedPlaylist(req, res, target, this.#servedPlaylist(playlist, null), session, address);
    }
    this.#markPlayed(session);
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
  #sendKeyedPlaylist(
    req: IncomingMessage,
    res: ServerResponse,
    target: HlsTarget,
    served: ServedPlaylist,
    session: HlsSession,
    address: IpAddress | null,
  ): void {
    if (served.etag !== null && etagMatches(requestHeader(req, "if-none-match"), served.etag)) {
      res.writeHead(304, { ETag: served.etag, "Cache-Control": "private, no-store" });
      return void res.end();
    }
    let edgeUrl: EdgeUrlOf | undefined;
    if (!served.prepared.keyOnly) {
      edgeUrl = this.#edge!.forViewer(target.app, target.channel, address) ?? undefined;
      if (edgeUrl === undefined) {
        this.#log.warn({ event: "hls.edge_unsigned", path: target.path }, "no viewer address to bind the edge links to");
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
  #sendPlaylist(
    req: IncomingMessage,
    res: ServerResponse,
    body: string,
    session: HlsSession,
    bytes = Buffer.byteLength(body, "utf8"),
    extension: "m3u8" | "mpd" = "m3u8",
  ): void {
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
    const measured = await Promise.all(
      segments.map(async (s) => {
        const info = await stat(join(channelDir, s.uri.split("?")[0] ?? "")).catch(() => null);
        return { durationSec: s.durationSec, bytes: info?.size ?? 0 };
      }),
    );
    return estimateBandwidth(measured);
  }
}

/**
 * Answers a segment request: 304 when `If-None-Match` names this version, 416 for a range the file cannot
 * satisfy, 206 for one it can, else 200; HEAD gets the headers only. `send` writes the body (all of it,
 * or the range) and counts the session's bytes.
 */
function sendSegment(
  req: IncomingMessage,
  res: ServerResponse,
  target: HlsTarget,
  size: number,
  etag: string,
  send: (range: ByteRange | null) => void,
): void {
  const headers = segmentHeaders(target.extension, etag);
  if (etagMatches(req.headers["if-none-match"], etag)) {
    res.writeHead(304, headers);
    return void res.end();
  }
  const ifRange = req.headers["if-range"];
  const range = ifRange === undefined || ifRange === etag ? parseByteRange(req.headers.range, size) : null;
  if (range === "unsatisfiable") {
    const body = "Range Not Satisfiable\n";
    res.writeHead(416, {
      ...headers,
      "Content-Type": "text/plain; charset=utf-8",
      "Content-Range": `bytes */${size}`,
      "Content-Length": String(body.length),
    });
    return void res.end(req.method === "HEAD" ? undefined : body);
  }
  if (range === null) res.writeHead(200, { ...headers, "Content-Length": String(size) });
  else
    res.writeHead(206, {
      ...headers,
      "Content-Range": `bytes ${range.start}-${range.end}/${size}`,
      "Content-Length": String(range.end - range.start + 1),
    });
  if (req.method === "HEAD") return void res.end();
  send(range);
}

/** A playlist response's headers, as the flat list `writeHead` takes. */
function playlistHeaders(bytes: number, etag: string | null): string[] {
  const headers = [
    "Content-Type",
    HLS_CONTENT_TYPES.m3u8!,
    "Content-Length",
    String(bytes),
    // Playlists carry a session key and change every segment: never cache them in a shared cache.
    "Cache-Control",
    "private, no-store",
    "Access-Control-Allow-Origin",
    "*",
  ];
  if (etag !== null) headers.push("ETag", etag);
  return headers;
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

async function exists(file: string): Promise<boolean> {
  return (await stat(file).catch(() => null)) !== null;
}

async function readTextOrNull(file: string): Promise<string | null> {
  return readFile(file, "utf8").catch(() => null);
}
