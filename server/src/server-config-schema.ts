import { z } from "zod";
import { pluginConfigShape, sharedPublishSecretIssues, millisecondsSchema, portSchema, secondsSchema } from "nms-viewer-auth/server-kit";

const NAME = /^[A-Za-z0-9_-]+$/;
const nameSchema = z.string().regex(NAME, "must use only letters, digits, '_' and '-' (NMS rejects other stream names)");

/** Where a channel's picture comes from. */
export const sourceSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("testPattern"),
    width: z.number().int().min(16).max(3840).default(640),
    height: z.number().int().min(16).max(2160).default(360),
    fps: z.number().int().min(1).max(60).default(25),
    toneHz: z.number().int().min(20).max(20000).default(440),
  }),
  z.strictObject({ type: z.literal("file"), path: z.string().min(1), loop: z.boolean().default(true) }),
  z.strictObject({ type: z.literal("url"), url: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }) }),
  z.strictObject({ type: z.literal("rtmp"), url: z.url({ protocol: /^rtmps?$/, error: "must be an rtmp(s) URL" }) }),
]);

/** How the source is encoded for viewers: copied as is (H.264/AAC sources) or re-encoded. */
export const transcodeSchema = z.discriminatedUnion("mode", [
  z.strictObject({ mode: z.literal("copy") }),
  z.strictObject({
    mode: z.literal("h264"),
    width: z.number().int().min(16).max(3840).nullable().default(null),
    height: z.number().int().min(16).max(2160).nullable().default(null),
    videoBitrateKbps: z.number().int().min(50).max(50000).default(1500),
    audioBitrateKbps: z.number().int().min(16).max(512).default(128),
    preset: z.enum(["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"]).default("veryfast"),
  }),
]);

/** The channel's own playlists: the master (both names) for a ladder. */
const RESERVED_RENDITION_NAMES = ["index", "master"];

/**
 * One rung of an adaptive ladder: the packager encodes every rung from the channel's stream in one ffmpeg
 * (split + scale), with keyframes at the same instants, so segments line up across rungs and a player can
 * switch between them at any segment boundary. The name is the files' stem: `<name>.m3u8`, `<name>_seg_<n>.ts`.
 */
export const renditionSchema = z.strictObject({
  name: nameSchema.refine(
    (name) => !RESERVED_RENDITION_NAMES.includes(name),
    `must not be ${RESERVED_RENDITION_NAMES.join(" or ")} (the channel's playlists)`,
  ),
  width: z.number().int().min(16).max(3840).multipleOf(2, "must be even (4:2:0 video)"),
  height: z.number().int().min(16).max(2160).multipleOf(2, "must be even (4:2:0 video)"),
  videoBitrateKbps: z.number().int().min(50).max(50000),
  audioBitrateKbps: z.number().int().min(16).max(512).default(96),
  /** H.264 profile: baseline for the oldest phones, main for most players, high for the top rungs. */
  profile: z.enum(["baseline", "main", "high"]).default("main"),
  preset: z.enum(["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"]).default("veryfast"),
});

export const channelSchema = z
  .strictObject({
    id: nameSchema,
    app: nameSchema.default("live"),
    source: sourceSchema,
    transcode: transcodeSchema.default({
      mode: "h264",
      width: null,
      height: null,
      videoBitrateKbps: 1500,
      audioBitrateKbps: 128,
      preset: "veryfast",
    }),
    hls: z
      .strictObject({
        segmentSec: z.number().min(0.5).max(30).default(2),
        listSize: z.number().int().min(2).max(100).default(6),
        /**
         * AES-128 encryption of the segments (null = clear): a new random key every `rotateEverySegments`
         * segments, served by the gate only to a live session of the channel (docs/hls.md "Encrypted channels").
         */
        encryption: z
          .strictObject({
            method: z.literal("aes-128"),
            rotateEverySegments: z.number().int().min(1).max(1000).default(10),
          })
          .nullable()
          .default(null),
      })
      .prefault({}),
    /**
     * An adaptive ladder (empty: one rendition, the stream as published). With renditions, the channel's
     * `index.m3u8` and `master.m3u8` are a master playlist listing them.
     */
    renditions: z.array(renditionSchema).max(8).default([]),
  })
  .superRefine((channel, ctx) => {
    const names = new Map<string, number>();
    channel.renditions.forEach((r, i) => {
      const first = names.get(r.name);
      if (first !== undefined)
        ctx.addIssue({
          code: "custom",
          path: ["renditions", i, "name"],
          message: `duplicates renditions[${first}] (${r.name})`,
          input: r.name,
        });
      else names.set(r.name, i);
    });
    if (channel.source.type === "testPattern" && channel.transcode.mode === "copy") {
      ctx.addIssue({
        code: "custom",
        path: ["transcode", "mode"],
        message: "copy needs an encoded source; a test pattern must be encoded (mode h264)",
        input: "copy",
      });
    }
  });

/** `server`: the bundled server's listeners, data directory and ffmpeg supervision. */
export const serverSchema = z
  .strictObject({
    bind: z.string().min(1).default("127.0.0.1"),
    rtmpPort: portSchema.default(1935),
    httpPort: portSchema.default(8000),
    dataDir: z.string().min(1).default("./data"),
    /**
     * false: the data and HLS directories are the server's user's only (0700/0600). true: the HLS tree is
     * readable by the server's group (0750/0640) for an nginx edge running as another user in that group.
     */
    hlsGroupReadable: z.boolean().default(false),
    ffmpegPath: z.string().min(1).default("ffmpeg"),
    /** Reads each rendition's first segment for the master playlist's CODECS, RESOLUTION and FRAME-RATE. */
    ffprobePath: z.string().min(1).default("ffprobe"),
    restartInitialMs: millisecondsSchema(100).default(1000),
    restartMaxMs: millisecondsSchema(100).default(30000),
    stableAfterSec: secondsSchema(1).default(30),
    stopTimeoutMs: millisecondsSchema(100).default(5000),
  })
  .prefault({});

/** The bundled server's configuration file: the plugin's sections plus `server` and `channels`. */
export const serverConfigSchema = z
  .strictObject({
    ...pluginConfigShape,
    server: serverSchema,
    channels: z
      .array(channelSchema)
      .default([])
      .superRefine((channels, ctx) => {
        const seen = new Map<string, number>();
        channels.forEach((c, i) => {
          const key = `${c.app}/${c.id}`;
          const first = seen.get(key);
          if (first !== undefined)
            ctx.addIssue({ code: "custom", path: [i, "id"], message: `duplicates channels[${first}] (${key})`, input: c.id });
          else seen.set(key, i);
        });
      }),
  })
  .superRefine((config, ctx) => {
    for (const issue of sharedPublishSecretIssues(config)) ctx.addIssue({ code: "custom", ...issue });
  });

export type ServerConfig = z.output<typeof serverConfigSchema>;
export type ChannelConfig = z.output<typeof channelSchema>;
export type RenditionConfig = z.output<typeof renditionSchema>;
