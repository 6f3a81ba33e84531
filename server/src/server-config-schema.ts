import { z } from "zod";
import { pluginConfigShape } from "../../plugin/src/config/plugin-config-schema.js";
import { sharedPublishSecretIssues } from "../../plugin/src/config/publish-schema.js";
import { millisecondsSchema, portSchema, secondsSchema } from "../../plugin/src/config/value-schemas.js";

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

export const channelSchema = z.strictObject({
  id: nameSchema,
  app: nameSchema.default("live"),
  source: sourceSchema,
  transcode: transcodeSchema.default({ mode: "h264", width: null, height: null, videoBitrateKbps: 1500, audioBitrateKbps: 128, preset: "veryfast" }),
  hls: z.strictObject({
    segmentSec: z.number().min(0.5).max(30).default(2),
    listSize: z.number().int().min(2).max(100).default(6),
  }).prefault({}),
}).superRefine((channel, ctx) => {
  if (channel.source.type === "testPattern" && channel.transcode.mode === "copy") {
    ctx.addIssue({ code: "custom", path: ["transcode", "mode"], message: "copy needs an encoded source; a test pattern must be encoded (mode h264)", input: "copy" });
  }
});

/** `server`: the bundled server's listeners, data directory and ffmpeg supervision. */
export const serverSchema = z.strictObject({
  bind: z.string().min(1).default("127.0.0.1"),
  rtmpPort: portSchema.default(1935),
  httpPort: portSchema.default(8000),
  dataDir: z.string().min(1).default("./data"),
  ffmpegPath: z.string().min(1).default("ffmpeg"),
  restartInitialMs: millisecondsSchema(100).default(1000),
  restartMaxMs: millisecondsSchema(100).default(30000),
  stableAfterSec: secondsSchema(1).default(30),
  stopTimeoutMs: millisecondsSchema(100).default(5000),
}).prefault({});

/** The bundled server's configuration file: the plugin's sections plus `server` and `channels`. */
export const serverConfigSchema = z.strictObject({
  ...pluginConfigShape,
  server: serverSchema,
  channels: z.array(channelSchema).default([]).superRefine((channels, ctx) => {
    const seen = new Map<string, number>();
    channels.forEach((c, i) => {
      const key = `${c.app}/${c.id}`;
      const first = seen.get(key);
      if (first !== undefined) ctx.addIssue({ code: "custom", path: [i, "id"], message: `duplicates channels[${first}] (${key})`, input: c.id });
      else seen.set(key, i);
    });
  }),
}).superRefine((config, ctx) => {
  for (const issue of sharedPublishSecretIssues(config)) ctx.addIssue({ code: "custom", ...issue });
});

export type ServerConfig = z.output<typeof serverConfigSchema>;
export type ChannelConfig = z.output<typeof channelSchema>;
