import type { InputProblem } from "../../gate/input-problem.js";

/**
 * Bounds on the RTMP chunk stream of one connection. node-media-server 4.4.3 allocates a message's
 * whole buffer (announced length + 1 KiB) as soon as its first chunk header arrives, once per chunk
 * stream id, and keeps it: 12 bytes announcing 16 MiB cost 16 MiB, on each of ~800 chunk stream ids.
 */
export const RTMP_MESSAGE_LIMITS = {
  /** Distinct chunk stream ids per connection (ffmpeg and OBS use fewer than 10). */
  chunkStreams: 64,
  /** Any message that is not media from a publisher: commands, control, user control, shared objects. */
  nonMediaMessageBytes: 64 * 1024,
  /** All message buffers of a connection that does not publish, together. */
  viewerBufferBytes: 256 * 1024,
  /** All message buffers of a publishing connection, together (room for a 16 MiB keyframe and the rest). */
  publisherBufferBytes: 32 * 1024 * 1024,
  /** Chunk sizes a peer may set: the spec's 1 to the largest message there can be (a 3-byte length). */
  minChunkBytes: 1,
  maxChunkBytes: 0xffffff,
} as const;

/** NMS's extra bytes on every message buffer (protocol/rtmp.js packetAlloc). */
const NMS_BUFFER_SLACK = 1024;

/** Message types NMS hands to a broadcast as media (audio, video, AMF3/AMF0 data) plus aggregates. */
const MEDIA_TYPES = new Set([8, 9, 15, 18, 22]);

/** The message about to be buffered and what the connection already holds. */
export interface RtmpMessageStart {
  /** RTMP message type id. */
  readonly type: number;
  /** Announced message length in bytes. */
  readonly length: number;
  /** Whether the connection is publishing (its `publish` was accepted by NMS). */
  readonly publishing: boolean;
  /** Bytes already allocated for this chunk stream's messages. */
  readonly streamCapacity: number;
  /** Bytes already allocated for all of the connection's chunk streams. */
  readonly connectionCapacity: number;
}

/**
 * Checks a message at its first chunk header, before NMS allocates its buffer: media only from a
 * connection that publishes (NMS 4.4.3 broadcasts media from any connection into the stream it
 * names, so a viewer could inject frames into everyone's picture), everything else at most 64 KiB,
 * and the connection's buffers within their bound.
 */
export function rtmpMessageProblem(message: RtmpMessageStart): InputProblem | null {
  const media = MEDIA_TYPES.has(message.type);
  if (media && !message.publishing)
    return { field: "message.type", reason: "media from a connection that is not publishing", value: message.type };
  if (!media && message.length > RTMP_MESSAGE_LIMITS.nonMediaMessageBytes) {
    return {
      field: "message.length",
      reason: `non-media message over ${RTMP_MESSAGE_LIMITS.nonMediaMessageBytes} bytes`,
      value: message.length,
    };
  }
  const growth = message.streamCapacity < message.length ? message.length + NMS_BUFFER_SLACK - message.streamCapacity : 0;
  const limit = message.publishing ? RTMP_MESSAGE_LIMITS.publisherBufferBytes : RTMP_MESSAGE_LIMITS.viewerBufferBytes;
  if (message.connectionCapacity + growth > limit) {
    return { field: "message.length", reason: `message buffers over ${limit} bytes for one connection`, value: message.length };
  }
  return null;
}

/**
 * Checks a set-chunk-size (type 1) or window-acknowledgement-size (type 5) message: NMS reads a 32-bit
 * value from either whatever its length, and takes any chunk size (0 derails its parser for good).
 * `value` is the 32-bit value, or undefined when the message is shorter than 4 bytes.
 */
export function controlMessageProblem(type: number, length: number, value: number | undefined): InputProblem | null {
  const field = type === 1 ? "setChunkSize" : "windowAckSize";
  if (value === undefined || length < 4) return { field, reason: "shorter than 4 bytes", value: length };
  if (type === 1 && (value < RTMP_MESSAGE_LIMITS.minChunkBytes || value > RTMP_MESSAGE_LIMITS.maxChunkBytes)) {
    return { field, reason: `outside ${RTMP_MESSAGE_LIMITS.minChunkBytes}..${RTMP_MESSAGE_LIMITS.maxChunkBytes}`, value };
  }
  return null;
}
