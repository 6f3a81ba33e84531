import type { ChannelConfig, RenditionConfig } from "../server-config-schema.js";

/** What a channel's configuration says a variant will carry, before any segment exists. */
export interface ConfiguredStream {
  /** RFC 6381 codec strings, as the encoder will write them: `avc1.4d401f,mp4a.40.2`. */
  codecs: string;
  width: number;
  height: number;
  /** Frames per second; null when the source's rate is not in the configuration. */
  frameRate: number | null;
  /** The configured video + audio rate with the MPEG-TS overhead (bits/s), until segments are measured. */
  bandwidth: number;
}

/** H.264 levels as x264 checks them: macroblocks per second, per frame, and the bitrate bound (kbit/s). */
const H264_LEVELS: readonly { level: string; mbPerSec: number; mbPerFrame: number; maxKbps: number }[] = [
  { level: "3.0", mbPerSec: 40_500, mbPerFrame: 1_620, maxKbps: 10_000 },
  { level: "3.1", mbPerSec: 108_000, mbPerFrame: 3_600, maxKbps: 14_000 },
  { level: "3.2", mbPerSec: 216_000, mbPerFrame: 5_120, maxKbps: 20_000 },
  { level: "4.0", mbPerSec: 245_760, mbPerFrame: 8_192, maxKbps: 20_000 },
  { level: "4.1", mbPerSec: 245_760, mbPerFrame: 8_192, maxKbps: 50_000 },
  { level: "4.2", mbPerSec: 522_240, mbPerFrame: 8_704, maxKbps: 50_000 },
  { level: "5.0", mbPerSec: 589_824, mbPerFrame: 22_080, maxKbps: 135_000 },
  { level: "5.1", mbPerSec: 983_040, mbPerFrame: 36_864, maxKbps: 240_000 },
  { level: "5.2", mbPerSec: 2_073_600, mbPerFrame: 36_864, maxKbps: 240_000 },
];

/** The rate a level is chosen for when the source's frame rate is unknown: the highest the schema allows. */
const ASSUMED_MAX_FPS = 60;

/** MPEG-TS packet and PES headers on top of the elementary streams' rates: about a tenth. */
const TS_OVERHEAD = 1.1;

/**
 * The lowest H.264 level (`"3.1"`) that holds a picture of this size at this rate and bitrate, never
 * below 3.0 (what every HLS player decodes). The encoder is told this level (`-level`), so the level
 * in `CODECS` is known before the first segment and is the one the stream carries.
 */
export function h264LevelOf(width: number, height: number, fps: number, videoKbps: number): string {
  const mbPerFrame = Math.ceil(width / 16) * Math.ceil(height / 16);
  const fit = H264_LEVELS.find((l) => mbPerFrame <= l.mbPerFrame && mbPerFrame * fps <= l.mbPerSec && videoKbps <= l.maxKbps);
  return (fit ?? H264_LEVELS[H264_LEVELS.length - 1]!).level;
}

/**
 * The profile x264 writes: `ultrafast` turns off CABAC, B-frames and 8x8 transforms, so the stream is
 * Constrained Baseline whatever profile was asked for; other presets honour it.
 */
function effectiveProfile(profile: RenditionConfig["profile"], preset: string): RenditionConfig["profile"] {
  return preset === "ultrafast" ? "baseline" : profile;
}

/** profile_idc and constraint flags as x264 writes them (set0 for baseline, set1 for baseline and main). */
const PROFILE_BYTES: Record<RenditionConfig["profile"], string> = { baseline: "42c0", main: "4d40", high: "6400" };

/** `avc1.PPCCLL` for an x264 stream of this profile, preset and level (`"3.1"` → level_idc 31). */
export function avcCodecFor(profile: RenditionConfig["profile"], preset: string, level: string): string {
  const levelIdc = Math.round(Number(level) * 10);
  return `avc1.${PROFILE_BYTES[effectiveProfile(profile, preset)]}${levelIdc.toString(16).padStart(2, "0")}`;
}

/** The source's frame rate when the configuration states it (a test pattern). */
function sourceFps(channel: ChannelConfig): number | null {
  return channel.source.type === "testPattern" ? channel.source.fps : null;
}

/** The level the encoder of a rendition is told. */
export function renditionLevel(channel: ChannelConfig, r: RenditionConfig): string {
  return h264LevelOf(r.width, r.height, sourceFps(channel) ?? ASSUMED_MAX_FPS, r.videoBitrateKbps);
}

/**
 * The picture size a single-rendition encode produces: the configured size, else the test pattern's;
 * null when only one side is set (ffmpeg then derives the other from the source) or the source's size is
 * not in the configuration.
 */
export function transcodeSize(channel: ChannelConfig): { width: number; height: number } | null {
  const t = channel.transcode;
  if (t.mode !== "h264") return null;
  if (t.width !== null && t.height !== null) return { width: t.width, height: t.height };
  if (t.width === null && t.height === null && channel.source.type === "testPattern")
    return { width: channel.source.width, height: channel.source.height };
  return null;
}

/** The level a single-rendition encode is told (the largest size the schema allows when the size is unknown). */
export function transcodeLevel(channel: ChannelConfig): string {
  const t = channel.transcode;
  const size = transcodeSize(channel) ?? { width: 3840, height: 2160 };
  return h264LevelOf(size.width, size.height, sourceFps(channel) ?? ASSUMED_MAX_FPS, t.mode === "h264" ? t.videoBitrateKbps : 0);
}

/**
 * Every variant's stream as the configuration determines it, by variant name (`index` for a single
 * rendition); null when it does not (a copied source, or an encode whose picture size depends on the
 * source), and the master must wait for the first segment's probe.
 */
export function configuredStreams(channel: ChannelConfig): Map<string, ConfiguredStream> | null {
  const fps = sourceFps(channel);
  if (channel.renditions.length > 0) {
    return new Map(
      channel.renditions.map((r) => [
        r.name,
        {
          codecs: `${avcCodecFor(r.profile, r.preset, renditionLevel(channel, r))},mp4a.40.2`,
          width: r.width,
          height: r.height,
          frameRate: fps,
          bandwidth: (r.videoBitrateKbps + r.audioBitrateKbps) * 1000 * TS_OVERHEAD,
        },
      ]),
    );
  }
  const t = channel.transcode;
  const size = transcodeSize(channel);
  if (t.mode !== "h264" || size === null) return null;
  // The single-rendition encode asks for no profile: x264's default for 4:2:0 is High.
  const stream = {
    codecs: `${avcCodecFor("high", t.preset, transcodeLevel(channel))},mp4a.40.2`,
    ...size,
    frameRate: fps,
    bandwidth: (t.videoBitrateKbps + t.audioBitrateKbps) * 1000 * TS_OVERHEAD,
  };
  return new Map([["index", stream]]);
}
