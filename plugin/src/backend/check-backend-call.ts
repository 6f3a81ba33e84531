import { BackendRequestError } from "../core/errors.js";
import type { BackendCall } from "./backend-protocol.js";

/**
 * Longest header value sent to a backend, in bytes. Header values carry viewer input (User-Agent,
 * Host, path); real ones are a few hundred bytes, and a longer one is refused rather than truncated.
 */
export const MAX_BACKEND_HEADER_BYTES = 2048;

/** Longest check URL sent to a backend, in characters: common servers refuse longer request lines (nginx, Apache: 8 KiB). */
export const MAX_BACKEND_URL_LENGTH = 8192;

/**
 * The check call as it will go on the wire, or a BackendRequestError saying why it cannot go. Header
 * values must be HTTP field values (RFC 9110 §5.5): no control character but tab (CR, LF, NUL, DEL…) and at
 * most MAX_BACKEND_HEADER_BYTES bytes. A forbidden character makes the call unsendable, it is never
 * stripped: a value with a piece removed could mean something else to the backend. Characters beyond
 * Latin-1 (only RTMP's UTF-8 strings have them) are sent as their UTF-8 bytes, a lossless encoding;
 * HTTP-sourced values are already bytes. The URL must parse as http(s), have no control character, tab
 * included (the URL parser would drop tabs and line breaks silently) and be at most MAX_BACKEND_URL_LENGTH long.
 *
 * @example
 * checkBackendCall({ url: "http://127.0.0.1:6000/?token=1", headers: { "X-Real-Ua": "x\r\ny" }, readBody: false }, "http://127.0.0.1:6000/");
 * // throws BackendRequestError: auth backend http://127.0.0.1:6000/: request not sent: header X-Real-Ua has a control character (0x0d) at position 1
 */
export function checkBackendCall(call: BackendCall, target: string): BackendCall {
  if (call.url.length > MAX_BACKEND_URL_LENGTH) {
    throw new BackendRequestError(target, `URL is ${call.url.length} characters long (limit ${MAX_BACKEND_URL_LENGTH})`);
  }
  const urlControl = call.url.search(/[\u0000-\u001f\u007f]/);
  if (urlControl !== -1)
    throw new BackendRequestError(target, `URL has a control character (${hex(call.url, urlControl)}) at position ${urlControl}`);
  let parsed: URL;
  try {
    parsed = new URL(call.url);
  } catch (error) {
    throw new BackendRequestError(target, "URL does not parse", { cause: error });
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
    throw new BackendRequestError(target, `URL scheme ${parsed.protocol} is not http or https`);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(call.headers)) headers[name] = fieldValue(name, value, target);
  return { url: call.url, headers, readBody: call.readBody };
}

/** A header value as Latin-1 text of the bytes to send, or a BackendRequestError. */
function fieldValue(name: string, value: string, target: string): string {
  const at = controlCharacterAt(value);
  if (at !== -1) throw new BackendRequestError(target, `header ${name} has a control character (${hex(value, at)}) at position ${at}`);
  // Checked on the characters first, so a huge value is refused before it is copied into bytes.
  if (value.length > MAX_BACKEND_HEADER_BYTES)
    throw new BackendRequestError(target, `header ${name} is ${value.length} characters long (limit ${MAX_BACKEND_HEADER_BYTES} bytes)`);
  const bytes = /[^\u0000-\u00ff]/.test(value) ? Buffer.from(value, "utf8").toString("latin1") : value;
  if (bytes.length > MAX_BACKEND_HEADER_BYTES)
    throw new BackendRequestError(target, `header ${name} is ${bytes.length} bytes long (limit ${MAX_BACKEND_HEADER_BYTES})`);
  return bytes;
}

/** Index of the first character below 0x20 other than tab, or DEL (0x7f); -1 when there is none. */
function controlCharacterAt(text: string): number {
  return text.search(/[\u0000-\u0008\u000a-\u001f\u007f]/);
}

function hex(text: string, at: number): string {
  return `0x${text.charCodeAt(at).toString(16).padStart(2, "0")}`;
}
