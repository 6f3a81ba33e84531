/**
 * Rewrites an HLS playlist so that every segment, variant and rendition URI carries the viewer's
 * session key: players fetch URIs exactly as written and cannot carry the original `?token=` on
 * (docs/protocols.md §5). Relative and absolute-path URIs stay on this server and get the key; URIs that
 * may name another host are left alone, so the key never leaves for it: those with a scheme
 * (`https://cdn…`) and network-path ones (`//cdn…`, and `\\cdn…`/`/\cdn…`, which URL parsers read alike).
 */

/**
 * The query parameter carrying an HLS session key: `vas` stands for "viewer auth session" (`va` is the
 * plugin's prefix, from nms-viewer-auth). It is short because it is appended to every segment URI of
 * every playlist a viewer reloads, and unusual so that it does not collide with a viewer's own parameters.
 */
export const HLS_SESSION_PARAM = "vas";

const URI_ATTRIBUTE = /URI="([^"]*)"/g;

/** Adds the key to every local URI in the playlist text. */
export function rewritePlaylist(playlist: string, key: string): string {
  return playlist
    .split("\n")
    .map((line) => rewriteLine(line, key))
    .join("\n");
}

/** One line of `rewritePlaylist`: a URI line, or the `URI="…"` attributes of a tag line, with the key. */
export function rewriteLine(line: string, key: string): string {
  const trimmed = line.trim();
  if (trimmed === "") return line;
  if (trimmed.startsWith("#")) return line.replace(URI_ATTRIBUTE, (_, uri: string) => `URI="${withKey(uri, key)}"`);
  return withKey(trimmed, key);
}

/** A media file in the playlist's own directory, by a flat name: what an edge can serve beside it. */
const EDGE_FILE = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}\.(?:ts|m4s|mp4|aac|vtt)$/;
const MAP_TAG = /^(#EXT-X-MAP:.*URI=")([^"]*)(".*)$/;

/**
 * The edge's part of a media playlist line: the segment file it names (a segment URI line, or an
 * `#EXT-X-MAP` init section), split as text before, file, text after. Null for any other line, and for
 * URIs that are not a flat file name beside the playlist (those stay on the gate, with the key).
 */
export function edgeFileOf(line: string): { before: string; file: string; after: string } | null {
  const trimmed = line.trim();
  if (trimmed === "") return null;
  if (!trimmed.startsWith("#")) return EDGE_FILE.test(trimmed) ? { before: "", file: trimmed, after: "" } : null;
  const map = MAP_TAG.exec(line);
  return map !== null && EDGE_FILE.test(map[2]!) ? { before: map[1]!, file: map[2]!, after: map[3]! } : null;
}

/** DASH manifest attributes that name a segment or an initialization segment. */
const MPD_URI_ATTRIBUTE = /\b(media|initialization|sourceURL|index)="([^"]*)"/g;

/**
 * Adds the key to every local segment URI of a DASH manifest (NMS 2.7's trans `dash` output): the
 * `SegmentTemplate`/`SegmentURL` attributes, in XML (`&amp;` between parameters). A manifest with a
 * `<BaseURL>` is returned unchanged: its segments may live on another host, and the key must not go
 * there (the player then gets 403 for them, never an open segment).
 */
export function rewriteMpd(mpd: string, key: string): string {
  if (/<BaseURL[\s>]/.test(mpd)) return mpd;
  return mpd.replace(MPD_URI_ATTRIBUTE, (whole, name: string, uri: string) => {
    if (uri === "" || mayLeaveThisHost(uri)) return whole;
    const separator = uri.includes("?") ? "&amp;" : "?";
    return `${name}="${uri}${separator}${HLS_SESSION_PARAM}=${encodeURIComponent(key)}"`;
  });
}

/** True for a multivariant (master) playlist. */
export function isMultivariant(playlist: string): boolean {
  return playlist.includes("#EXT-X-STREAM-INF");
}

/**
 * A one-variant multivariant playlist pointing at the media playlist with the key. Served for the
 * first request of a media playlist, so that the player's later reloads use the keyed URL and never
 * the token URL (which would re-run the chain on every reload).
 */
export function wrapperPlaylist(mediaFile: string, key: string, bandwidth: number, attributes: string | null = null): string {
  const streamInf = attributes ?? `BANDWIDTH=${Math.max(1, Math.round(bandwidth))}`;
  return ["#EXTM3U", "#EXT-X-VERSION:3", `#EXT-X-STREAM-INF:${streamInf}`, withKey(mediaFile, key), ""].join("\n");
}

/**
 * The beside-the-media master playlist a packager may write (`master.m3u8`; the bundled server writes one for
 * every channel): a wrapper takes the variant's attributes (CODECS, RESOLUTION, FRAME-RATE, …) from it.
 */
export const VARIANT_INFO_PLAYLIST = "master.m3u8";

/**
 * The marker a channel's directory holds while the packager's master playlist waits for the first
 * segment's probe (CODECS and RESOLUTION not yet known): a new viewer's first playlist is held briefly
 * while it is there, instead of answered without them.
 */
export const MASTER_PENDING_FILE = "master.pending";

/** The `#EXT-X-TARGETDURATION` of a media playlist in seconds; null when it has none. */
export function targetDurationOf(playlist: string): number | null {
  const match = /^#EXT-X-TARGETDURATION:(\d+(?:\.\d+)?)\s*$/m.exec(playlist);
  return match === null ? null : Number(match[1]);
}

/** The `EXT-X-STREAM-INF` attributes a multivariant playlist gives the variant `mediaFile`; null if it lists none. */
export function variantAttributesOf(master: string, mediaFile: string): string | null {
  const lines = master.split("\n").map((line) => line.trim());
  for (let i = 0; i < lines.length - 1; i++) {
    if (!lines[i]!.startsWith("#EXT-X-STREAM-INF:")) continue;
    const uri = lines.slice(i + 1).find((line) => line !== "" && !line.startsWith("#"));
    const attributes = lines[i]!.slice("#EXT-X-STREAM-INF:".length);
    // Attributes go back out verbatim: only a plain, single-line list is taken over.
    if (uri === mediaFile && /^[A-Z0-9-]+=("[^"\r\n]*"|[^",\s]+)(,[A-Z0-9-]+=("[^"\r\n]*"|[^",\s]+))*$/.test(attributes)) return attributes;
  }
  return null;
}

/** Estimated peak bitrate in bits/s from a media playlist's EXTINF durations and segment sizes. */
export function estimateBandwidth(segments: readonly { durationSec: number; bytes: number }[]): number | null {
  let peak = 0;
  for (const s of segments) if (s.durationSec > 0) peak = Math.max(peak, (s.bytes * 8) / s.durationSec);
  return peak > 0 ? peak : null;
}

/** Segment URIs of a media playlist with their EXTINF durations. */
export function segmentsOf(playlist: string): { uri: string; durationSec: number }[] {
  const out: { uri: string; durationSec: number }[] = [];
  let duration = 0;
  for (const raw of playlist.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#EXTINF:")) duration = parseFloat(line.slice(8)) || 0;
    else if (line !== "" && !line.startsWith("#")) {
      out.push({ uri: line, durationSec: duration });
      duration = 0;
    }
  }
  return out;
}

/**
 * True for a URI a player may resolve to another host. Checked as a WHATWG URL parser reads it: after
 * dropping leading control characters and spaces and every tab and line break, and with `\` as `/`.
 */
function mayLeaveThisHost(uri: string): boolean {
  const normalized = uri.replace(/[\t\n\r]/g, "").replace(/^[\u0000-\u0020]+/, "");
  return /^[a-z][a-z0-9+.-]*:/i.test(normalized) || /^[/\\]{2}/.test(normalized);
}

function withKey(uri: string, key: string): string {
  if (mayLeaveThisHost(uri)) return uri;
  const hashAt = uri.indexOf("#");
  const base = hashAt < 0 ? uri : uri.slice(0, hashAt);
  const fragment = hashAt < 0 ? "" : uri.slice(hashAt);
  const separator = base.includes("?") ? "&" : "?";
  return `${base}${separator}${HLS_SESSION_PARAM}=${encodeURIComponent(key)}${fragment}`;
}
