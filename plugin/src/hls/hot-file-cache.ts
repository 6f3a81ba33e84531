import { open, stat } from "node:fs/promises";
import { LRUCache } from "lru-cache";
import type { Clock } from "../core/clock.js";

/** One version of a file held in memory: its bytes and what identifies the version. */
export interface CachedFile {
  readonly body: Buffer;
  /** A strong entity tag of this version (size, modification time, inode), quoted as HTTP writes it. */
  readonly etag: string;
  /** The version's identity: another value means the file was rewritten or replaced. */
  readonly version: string;
}

interface Entry {
  file: CachedFile;
  checkedAt: number;
  /** A re-check in flight, shared by the requests that arrive meanwhile. */
  checking: Promise<CachedFile | null> | undefined;
}

/**
 * HotFileCache holds the live segments and playlists every viewer of a channel fetches, in memory,
 * bounded by bytes (least recently used out first). A cached file is checked with one `stat` at most
 * every `recheckMs`: a rewritten file (other size, modification time or inode: ffmpeg's `temp_file`
 * renames) is read again, a deleted one leaves the cache. A file larger than a quarter of the bound
 * is not cached (`get` answers `undefined`, the caller streams it), so one big file cannot flush the
 * hot ones. Keys are absolute paths the caller has already checked; only files that exist are held.
 */
export class HotFileCache {
  /**
   * lru-cache keeps the recency order in index arrays: a hit costs no Map delete and re-insert, which on
   * a small Map (one channel's few files) shrank and regrew its hash table on every request.
   */
  readonly #entries: LRUCache<string, Entry>;
  readonly #loading = new Map<string, Promise<CachedFile | null | undefined>>();
  readonly #maxBytes: number;
  readonly #recheckMs: number;
  readonly #clock: Clock;

  constructor(maxBytes: number, recheckMs: number, clock: Clock) {
    this.#maxBytes = maxBytes;
    this.#recheckMs = recheckMs;
    this.#clock = clock;
    // lru-cache sizes are positive: an empty file counts 1.
    this.#entries = new LRUCache<string, Entry>({
      maxSize: Math.max(1, maxBytes),
      sizeCalculation: (entry) => Math.max(1, entry.file.body.length),
    });
  }

  /** Bytes held now (never more than the bound). */
  get bytes(): number {
    return this.#entries.calculatedSize;
  }

  /** Files held now. */
  get size(): number {
    return this.#entries.size;
  }

  /** The current version of a file; null when it does not exist, undefined when it is too big to cache. */
  get(path: string): Promise<CachedFile | null | undefined> | CachedFile {
    const entry = this.#entries.get(path); // also the touch that makes it the most recently used
    if (entry === undefined) return this.#load(path);
    if (this.#clock.now() - entry.checkedAt < this.#recheckMs) return entry.file;
    entry.checking ??= this.#recheck(path, entry);
    return entry.checking;
  }

  /** Drops every file. */
  clear(): void {
    this.#entries.clear();
  }

  async #recheck(path: string, entry: Entry): Promise<CachedFile | null> {
    try {
      const info = await statOrNull(path);
      if (info !== null && versionOf(info) === entry.file.version) {
        entry.checkedAt = this.#clock.now();
        return entry.file;
      }
      this.#evict(path, entry);
      return (await this.#load(path)) ?? null;
    } finally {
      entry.checking = undefined;
    }
  }

  #load(path: string): Promise<CachedFile | null | undefined> {
    let loading = this.#loading.get(path);
    if (loading === undefined) {
      loading = this.#read(path).finally(() => this.#loading.delete(path));
      this.#loading.set(path, loading);
    }
    return loading;
  }

  /** Reads one consistent version: the identity comes from the same open file as the bytes. */
  async #read(path: string): Promise<CachedFile | null | undefined> {
    const checkedAt = this.#clock.now();
    const handle = await open(path, "r").catch(() => null);
    if (handle === null) return null;
    try {
      const info = await handle.stat();
      if (!info.isFile()) return null;
      if (info.size > this.#maxBytes / 4) return undefined;
      const body = await handle.readFile();
      if (body.length !== info.size) return undefined; // being written right now: do not keep a torn copy
      const version = versionOf(info);
      const file: CachedFile = { body, version, etag: `"${version}"` };
      // Replaces any other version of the path; lru-cache drops the least recently used past the bound.
      this.#entries.set(path, { file, checkedAt, checking: undefined });
      return file;
    } finally {
      await handle.close();
    }
  }

  #evict(path: string, entry: Entry): void {
    if (this.#entries.peek(path) === entry) this.#entries.delete(path);
  }
}

type FileInfo = { size: number; mtimeMs: number; ino: number; isFile(): boolean };

function versionOf(info: FileInfo): string {
  return `${info.size.toString(16)}-${Math.round(info.mtimeMs * 1000).toString(16)}-${info.ino.toString(16)}`;
}

async function statOrNull(path: string): Promise<FileInfo | null> {
  const info = await stat(path).catch(() => null);
  return info?.isFile() === true ? info : null;
}
