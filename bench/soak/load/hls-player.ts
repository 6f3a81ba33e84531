import { createHash } from "node:crypto";
import { RawHttpConnection } from "./raw-http-connection.js";
import { countInto, type LoadResult } from "./load-results.js";

/** How a player reaches the playlist: through our gate (token, then the session key in every URI) or nginx secure_link (it signs every URI). */
export type HlsTarget =
  { kind: "gate"; port: number; masterPath: string } | { kind: "nginx"; port: number; mediaPath: string; secret: string; expires: number };

const REQUEST_TIMEOUT_MS = 10_000;

/**
 * A simulated live HLS player, like hls.js on one keep-alive connection: the master playlist once, then
 * the media playlist every target duration, and every segment it has not fetched yet (from the newest
 * `startSegments` at join). It stops asking at `deadline` (a request in flight may finish).
 */
export class HlsPlayer {
  readonly #target: HlsTarget;
  readonly #result: LoadResult;
  #conn: RawHttpConnection | undefined;
  #stopped = false;

  constructor(target: HlsTarget, result: LoadResult) {
    this.#target = target;
    this.#result = result;
  }

  stop(): void {
    this.#stopped = true;
  }

  /** Plays until `deadline` (epoch ms) or stop(); false when it never got a playlist. */
  async play(deadline: number, startSegments: number): Promise<boolean> {
    const live = () => !this.#stopped && Date.now() < deadline;
    const mediaPath = await this.#join();
    if (mediaPath === undefined) return false;
    const dir = mediaPath.slice(0, mediaPath.lastIndexOf("/") + 1);
    let lastSeq = -1;
    let lastKeyUri: string | undefined;
    while (live()) {
      const startedAt = Date.now();
      const playlist = await this.#request(this.#sign(mediaPath), true, "playlist");
      let targetMs = 2000;
      if (playlist !== undefined) {
        const parsed = parseMediaPlaylist(playlist);
        targetMs = parsed.targetSec * 1000;
        const fresh = parsed.segments.filter((s) => s.seq > lastSeq);
        const wanted = lastSeq < 0 ? fresh.slice(-startSegments) : fresh;
        for (const segment of wanted) {
          if (!live()) break;
          lastSeq = segment.seq;
          // An encrypted channel: a player fetches each key once, before the first segment it opens
          // (the gate serves keys; nginx cannot, they live outside every served folder).
          if (segment.keyUri !== undefined && segment.keyUri !== lastKeyUri && this.#target.kind === "gate") {
            lastKeyUri = segment.keyUri;
            await this.#fetchKey(segment.keyUri.startsWith("/") ? segment.keyUri : dir + segment.keyUri);
          }
          this.#result.segmentsAsked++;
          const answer = await this.#request(this.#sign(dir + segment.uri), false, "segment");
          if (answer !== undefined) this.#result.segmentsDelivered++;
        }
      }
      const wait = startedAt + targetMs - Date.now();
      if (wait > 0 && live()) await sleepUntil(Math.min(deadline, Date.now() + wait), () => this.#stopped);
    }
    this.#conn?.close();
    return true;
  }

  /** One AES-128 key through the gate: 16 bytes, or an error counted as `key-length`. */
  async #fetchKey(path: string): Promise<void> {
    this.#result.keysAsked++;
    const key = await this.#request(path, true, "key");
    if (key === undefined) return;
    if (key.length !== 16) countInto(this.#result.errors, "key-length");
    else this.#result.keysDelivered++;
  }

  /** The media playlist's path: from the gate's master (it carries the session key), or nginx's as configured. */
  async #join(): Promise<string | undefined> {
    const target = this.#target;
    const path = target.kind === "gate" ? target.masterPath : this.#sign(target.mediaPath);
    const startedAt = Date.now();
    const body = await this.#request(path, true, "join");
    this.#result.joinMs.push(Date.now() - startedAt);
    if (body === undefined) return undefined;
    this.#result.joined++;
    if (target.kind === "nginx") return target.mediaPath;
    const variant = body
      .toString("utf8")
      .split("\n")
      .map((l) => l.trim())
      .find((l) => l !== "" && !l.startsWith("#"));
    if (variant === undefined) {
      countInto(this.#result.errors, "master-without-variant");
      return undefined;
    }
    return variant.startsWith("/") ? variant : target.masterPath.slice(0, target.masterPath.lastIndexOf("/") + 1) + variant;
  }

  /** One GET on the player's connection (a new one when the last closed); the body of a 200, or undefined after counting the failure. */
  async #request(path: string, keepBody: boolean, kind: "join" | "playlist" | "segment" | "key"): Promise<Buffer | undefined> {
    if (this.#conn === undefined || !this.#conn.usable) this.#conn = new RawHttpConnection(this.#target.port);
    try {
      const answer = await this.#conn.get(path, keepBody, REQUEST_TIMEOUT_MS);
      if (kind === "join") countInto(this.#result.joinStatuses, String(answer.status));
      if (answer.status !== 200) {
        countInto(this.#result.errors, `${kind}-status-${answer.status}`);
        return undefined;
      }
      if (kind === "segment") {
        this.#result.segmentMs.push(answer.ms);
        this.#result.segmentBytes += answer.bytes;
      } else if (kind === "playlist") {
        this.#result.playlistMs.push(answer.ms);
      } else if (kind === "key") {
        this.#result.keyMs.push(answer.ms);
      }
      return answer.body;
    } catch (error) {
      if (kind === "join") countInto(this.#result.joinStatuses, "0");
      countInto(this.#result.errors, `${kind}-${errorKind(error)}`);
      return undefined;
    }
  }

  /** nginx: the URI signed as secure_link_md5 "$secure_link_expires$uri$remote_addr secret" expects; the gate: as is. */
  #sign(pathWithQuery: string): string {
    const target = this.#target;
    if (target.kind === "gate") return pathWithQuery;
    const uri = pathWithQuery.split("?")[0]!;
    const md5 = createHash("md5").update(`${target.expires}${uri}127.0.0.1 ${target.secret}`).digest("base64url");
    return `${uri}?md5=${md5}&expires=${target.expires}`;
  }
}

/** One segment of a media playlist: its sequence number, URI and the URI of the key it is encrypted with (none: clear). */
export interface ListedSegment {
  seq: number;
  uri: string;
  keyUri?: string;
}

const KEY_URI = /URI="([^"]+)"/;

/** The parts of a live media playlist a player needs: target duration and segments with their sequence numbers and keys. */
export function parseMediaPlaylist(body: Buffer): { targetSec: number; segments: ListedSegment[] } {
  const lines = body
    .toString("utf8")
    .split("\n")
    .map((l) => l.trim());
  let seq = 0;
  let targetSec = 2;
  let keyUri: string | undefined;
  const segments: ListedSegment[] = [];
  for (const line of lines) {
    if (line.startsWith("#EXT-X-MEDIA-SEQUENCE:")) seq = Number(line.slice(22));
    else if (line.startsWith("#EXT-X-TARGETDURATION:")) targetSec = Number(line.slice(22));
    else if (line.startsWith("#EXT-X-KEY:")) keyUri = line.includes("METHOD=NONE") ? undefined : KEY_URI.exec(line)?.[1];
    else if (line !== "" && !line.startsWith("#"))
      segments.push(keyUri === undefined ? { seq: seq++, uri: line } : { seq: seq++, uri: line, keyUri });
  }
  return { targetSec, segments };
}

function errorKind(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") return code;
  if (message.startsWith("no complete answer")) return "timeout";
  if (message === "connection closed") return "closed";
  return "protocol";
}

async function sleepUntil(at: number, stopped: () => boolean): Promise<void> {
  while (!stopped() && Date.now() < at) await new Promise((r) => setTimeout(r, Math.min(500, at - Date.now())));
}
