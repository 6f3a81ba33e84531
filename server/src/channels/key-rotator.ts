import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "nms-viewer-auth/server-kit";
import { decryptSegment, segmentKeyOf } from "./segment-key.js";

/** The name ffmpeg re-reads at every segment (`-hls_key_info_file` with `periodic_rekey`). */
export const KEY_INFO_FILE = "key-info.txt";
const KEY_NAME = /^k[0-9a-f]{16}\.key$/;
const MEDIA_SEQUENCE = /^#EXT-X-MEDIA-SEQUENCE:(\d+)/m;
const KEY_URI = /#EXT-X-KEY:[^\n]*URI="([^"?]+)/g;

/**
 * KeyRotator keeps an encrypted channel's AES-128 keys: 16 random bytes each, in `<keysDir>/<app>/<channel>/`
 * (0700, files 0600, outside every served folder), named `k<random>.key`, which is also the relative URI
 * the packager writes into `#EXT-X-KEY` (the gate answers it from the same folder). ffmpeg re-reads the
 * key-info file at every segment (`periodic_rekey`), so a rotation is a new key file and the key-info file
 * rewritten atomically (temp file, then rename). It watches the playlists: every `rotateEverySegments`
 * segments a new key; a key no playlist lists any more (and not the current one) is deleted.
 */
export class KeyRotator {
  readonly #dir: string;
  readonly #hlsDir: string;
  readonly #playlists: readonly string[];
  readonly #every: number;
  readonly #intervalMs: number;
  readonly #log: Logger;
  #current: string | undefined;
  /** The media sequence number of the first segment made with the current key (as first seen). */
  #since: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(keysDir: string, hlsDir: string, playlists: readonly string[], rotateEverySegments: number, segmentSec: number, log: Logger) {
    this.#dir = keysDir;
    this.#hlsDir = hlsDir;
    this.#playlists = playlists;
    this.#every = rotateEverySegments;
    this.#intervalMs = Math.max(200, segmentSec * 250);
    this.#log = log;
  }

  /** The key-info file for ffmpeg's `-hls_key_info_file`. */
  get keyInfoFile(): string {
    return join(this.#dir, KEY_INFO_FILE);
  }

  /** Called before each packager start: a fresh key (and key-info file) for the new run; synchronous so ffmpeg finds it. */
  prepare(): void {
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    chmodSync(this.#dir, 0o700);
    this.#since = undefined;
    this.#rotate();
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.tick(), this.#intervalMs);
    this.#timer.unref();
  }

  /** Stops watching and deletes every key: nothing may decrypt a stopped channel's leftovers from this server. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    rmSync(this.#dir, { recursive: true, force: true });
  }

  /** One look at the playlists: rotate when due, delete keys nothing lists. Public for tests. */
  async tick(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      const texts = await Promise.all(this.#playlists.map((p) => readFile(join(this.#hlsDir, p), "utf8").catch(() => "")));
      const listed = new Set(texts.flatMap((t) => [...t.matchAll(KEY_URI)].map((m) => m[1]!)));
      const newest = Math.max(...texts.map(lastSequenceOf));
      if (this.#current !== undefined && listed.has(this.#current) && newest >= 0) {
        this.#since ??= newest;
        if (newest - this.#since + 1 >= this.#every) {
          this.#rotate();
          this.#since = newest + 1;
        }
      }
      for (const name of readdirSync(this.#dir)) {
        if (KEY_NAME.test(name) && name !== this.#current && !listed.has(name)) rmSync(join(this.#dir, name), { force: true });
      }
    } catch (error) {
      this.#log.warn({ event: "hls.key_rotation_failed", err: error }, "could not rotate the channel's key");
    } finally {
      this.#running = false;
    }
  }

  /**
   * Runs `use` on a decrypted copy of one listed segment (the master playlist's probe needs the clear
   * stream), written 0600 in the keys folder, never in a served one, and deleted afterwards. Null when the
   * segment has no key tag or its key is gone.
   */
  async withClearCopy<T>(
    playlist: string,
    segmentUri: string,
    bytes: Buffer,
    use: (file: string, clear: Buffer) => Promise<T>,
  ): Promise<T | null> {
    const key = segmentKeyOf(playlist, segmentUri);
    if (key === null || !KEY_NAME.test(key.keyName)) return null;
    const secret = await readFile(join(this.#dir, key.keyName)).catch(() => null);
    if (secret === null || secret.length !== 16) return null;
    const clear = decryptSegment(bytes, secret, key.iv);
    const file = join(this.#dir, `probe-${randomBytes(6).toString("hex")}.ts`);
    await writeFile(file, clear, { mode: 0o600 });
    try {
      return await use(file, clear);
    } finally {
      await rm(file, { force: true });
    }
  }

  #rotate(): void {
    const name = `k${randomBytes(8).toString("hex")}.key`;
    const file = join(this.#dir, name);
    writeFileSync(file, randomBytes(16), { mode: 0o600 });
    chmodSync(file, 0o600);
    const info = join(this.#dir, KEY_INFO_FILE);
    // Line 1: the URI written into #EXT-X-KEY (relative: the gate, beside the playlist); line 2: the key file.
    writeFileSync(`${info}.tmp`, `${name}\n${file}\n`, { mode: 0o600 });
    renameSync(`${info}.tmp`, info);
    this.#current = name;
  }
}

/** The media sequence number of a playlist's last segment; -1 when it has none. */
function lastSequenceOf(playlist: string): number {
  const first = MEDIA_SEQUENCE.exec(playlist);
  if (first === null) return -1;
  const segments = playlist.split("\n").filter((line) => line.startsWith("#EXTINF")).length;
  return segments === 0 ? -1 : Number(first[1]) + segments - 1;
}
