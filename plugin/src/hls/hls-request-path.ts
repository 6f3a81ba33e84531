/**
 * Parsing of request paths for the HLS gate, refusing every traversal form before any file is
 * touched: `..` and `.` segments, percent-encoded and double-encoded dots and slashes, backslashes,
 * NUL bytes and empty segments. Only `/<app>/<channel>/<file>` with safe names is ever served.
 */

/** File extensions the HLS gate serves, with their content types. */
export const HLS_CONTENT_TYPES: Readonly<Record<string, string>> = {
  m3u8: "application/vnd.apple.mpegurl",
  ts: "video/mp2t",
  m4s: "video/iso.segment",
  mp4: "video/mp4",
  aac: "audio/aac",
  vtt: "text/vtt; charset=utf-8",
  mpd: "application/dash+xml",
  // An AES-128 key of an encrypted channel (`#EXT-X-KEY`), served from `hls.keysDir`, never from the HLS folder.
  key: "application/octet-stream",
};

const NAME = "[A-Za-z0-9_-]+";
const HLS_PATH = new RegExp(`^/(${NAME})/(${NAME})/([A-Za-z0-9_-][A-Za-z0-9_.-]{0,127})\\.(${Object.keys(HLS_CONTENT_TYPES).join("|")})$`);
const HLS_EXTENSION = new RegExp(`\\.(${Object.keys(HLS_CONTENT_TYPES).join("|")})$`, "i");

/** An HLS file a request names: app, channel, file (with its extension) and the path as decoded. */
export type HlsTarget = { app: string; channel: string; file: string; extension: string; path: string };

/** What a request path is, for the gate. */
export type HlsPathVerdict =
  | { kind: "hls"; app: string; channel: string; file: string; extension: string; path: string }
  | { kind: "bad"; reason: string }
  | { kind: "not-found" }
  | { kind: "other" };

/** Classifies a raw request URL (path and query as received). */
export function classifyRequestPath(rawUrl: string): HlsPathVerdict {
  const queryStart = rawUrl.indexOf("?");
  const rawPath = queryStart < 0 ? rawUrl : rawUrl.slice(0, queryStart);
  const unsafe = unsafeReason(rawPath);
  if (unsafe !== null) return { kind: "bad", reason: unsafe };
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return { kind: "bad", reason: "malformed percent-encoding" };
  }
  const unsafeDecoded = unsafeReason(decoded);
  if (unsafeDecoded !== null) return { kind: "bad", reason: unsafeDecoded };
  if (decoded.includes("%")) return { kind: "bad", reason: "double percent-encoding" };
  const match = HLS_PATH.exec(decoded);
  if (match !== null) {
    const [, app = "", channel = "", stem = "", extension = ""] = match;
    return { kind: "hls", app, channel, file: `${stem}.${extension}`, extension, path: decoded };
  }
  return HLS_EXTENSION.test(decoded) ? { kind: "not-found" } : { kind: "other" };
}

function unsafeReason(path: string): string | null {
  if (path.includes("\0")) return "NUL byte in path";
  if (path.includes("\\")) return "backslash in path";
  if (!path.startsWith("/")) return "path is not absolute";
  const segments = path.split("/").slice(1);
  if (segments.some((s) => s === ".." || s === ".")) return "dot segment in path";
  if (segments.slice(0, -1).some((s) => s === "")) return "empty segment in path";
  return null;
}
