import type { InputProblem } from "../../gate/input-problem.js";
import { nameProblem, PLAY_FIELD_LIMITS, queryProblem, textProblem } from "../../gate/play-fields.js";

/** What one RTMP connection has done so far, as far as the command rules care. */
export interface RtmpCommandState {
  /** A `connect` was accepted. */
  connected: boolean;
  /** The one `play` or `publish` this connection made, if any. */
  streamCommand: "play" | "publish" | undefined;
}

/** A decoded AMF0 command as node-media-server's `decodeAmf0Cmd` returns it: any value in any field. */
export type DecodedRtmpCommand = Readonly<Record<string, unknown>>;

const STREAM_URL_SCHEMES = new Set(["rtmp:", "rtmps:"]);

/**
 * Checks one decoded RTMP command against what node-media-server 4.4.3 assumes of it, before NMS
 * acts on it. Returns the first problem, or null when NMS may have it.
 *
 * - Every command: the name is a string; the transaction id, which NMS echoes in its answers, is a
 *   number when present (NMS's AMF encoder throws on a string or key longer than 65535 bytes).
 * - `connect` comes first and once: its command object is an object with an `app` NMS accepts, a
 *   `tcUrl` that is an rtmp/rtmps URL of printable ASCII (NMS calls `new URL` on it), an optional
 *   `flashVer` of printable ASCII (it becomes the session's user agent), and an optional numeric
 *   `objectEncoding` (echoed back).
 * - `play` and `publish`: after `connect`, once per connection (NMS keeps one stream per session and
 *   would strand the first one), with a stream name whose name part NMS accepts and whose query is
 *   bounded and free of control characters.
 */
export function rtmpCommandProblem(command: DecodedRtmpCommand, state: RtmpCommandState): InputProblem | null {
  const name = command.cmd;
  if (typeof name !== "string") return { field: "command", reason: "name is not a string", value: name };
  if (command.transId !== undefined && typeof command.transId !== "number") {
    return { field: "command.transId", reason: "not a number", value: command.transId };
  }
  if (name === "connect") {
    if (state.connected) return { field: "connect", reason: "second connect on one connection" };
    return connectProblem(command.cmdObj);
  }
  if (!state.connected) return { field: "command", reason: "command before connect", value: name };
  if (name === "play" || name === "publish") {
    if (state.streamCommand !== undefined) return { field: name, reason: "second play or publish on one connection" };
    return streamNameProblem(name, command.streamName);
  }
  return null;
}

function connectProblem(commandObject: unknown): InputProblem | null {
  if (typeof commandObject !== "object" || commandObject === null || Array.isArray(commandObject)) {
    return { field: "connect.cmdObj", reason: "not an object", value: commandObject };
  }
  // Read the fields the way NMS does (plain property access), so the check sees what NMS will.
  const { app, tcUrl, flashVer, objectEncoding } = commandObject as Record<string, unknown>;
  const appReason = nameProblem(app, PLAY_FIELD_LIMITS.appChars);
  if (appReason !== null) return { field: "connect.app", reason: appReason, value: app };
  const tcUrlReason = textProblem(tcUrl, PLAY_FIELD_LIMITS.tcUrlChars, "printable-ascii") ?? streamUrlProblem(tcUrl as string);
  if (tcUrlReason !== null) return { field: "connect.tcUrl", reason: tcUrlReason, value: tcUrl };
  if (flashVer !== undefined) {
    const reason = textProblem(flashVer, PLAY_FIELD_LIMITS.flashVerChars, "printable-ascii");
    if (reason !== null) return { field: "connect.flashVer", reason, value: flashVer };
  }
  if (objectEncoding !== undefined && objectEncoding !== null && typeof objectEncoding !== "number") {
    return { field: "connect.objectEncoding", reason: "not a number", value: objectEncoding };
  }
  return null;
}

function streamUrlProblem(tcUrl: string): string | null {
  let url: URL;
  try {
    url = new URL(tcUrl);
  } catch {
    return "not a URL";
  }
  return STREAM_URL_SCHEMES.has(url.protocol) ? null : "not an rtmp or rtmps URL";
}

function streamNameProblem(command: "play" | "publish", streamName: unknown): InputProblem | null {
  const field = `${command}.streamName`;
  if (typeof streamName !== "string") return { field, reason: "not a string", value: streamName };
  // NMS takes the name before the first "?" and parses what follows as the query.
  const queryStart = streamName.indexOf("?");
  const name = queryStart < 0 ? streamName : streamName.slice(0, queryStart);
  const nameReason = nameProblem(name, PLAY_FIELD_LIMITS.nameChars);
  if (nameReason !== null) return { field, reason: `name ${nameReason}`, value: streamName };
  const queryReason = queryStart < 0 ? null : queryProblem(streamName.slice(queryStart + 1));
  if (queryReason !== null) return { field, reason: queryReason, value: streamName };
  return null;
}
