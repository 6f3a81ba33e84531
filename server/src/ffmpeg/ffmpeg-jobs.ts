// The one module that uses fluent-ffmpeg (archived upstream): everything else sees FfmpegJob only,
// so replacing it later touches this file alone.
import type { EventEmitter } from "node:events";
import { createRequire } from "node:module";
import type Ffmpeg from "fluent-ffmpeg";
import type { ChannelConfig, RenditionConfig } from "../server-config-schema.js";
import { renditionLevel, transcodeLevel } from "../channels/configured-variants.js";
import { spawnWithLifeline } from "./spawn-with-lifeline.js";

let fluentFfmpeg: typeof Ffmpeg | undefined;

/**
 * fluent-ffmpeg, an optional peer dependency of the package (only the bundled server uses it, apps
 * that attach the plugin never do, and `--version`/`--check-config` run without it). The server loads
 * it before it starts (main.ts), so a missing one stops the start with an error that says how to
 * install it, not a channel later.
 */
export function loadFluentFfmpeg(): typeof Ffmpeg {
  if (fluentFfmpeg !== undefined) return fluentFfmpeg;
  try {
    fluentFfmpeg = createRequire(import.meta.url)("fluent-ffmpeg") as typeof Ffmpeg;
  } catch (error) {
    if ((error as { code?: unknown }).code !== "MODULE_NOT_FOUND") throw error;
    throw new Error("the bundled server needs the fluent-ffmpeg package: npm install fluent-ffmpeg@2.1.3", { cause: error });
  }
  return fluentFfmpeg;
}

const ffmpeg = (): Ffmpeg.FfmpegCommand => loadFluentFfmpeg()();

/** A running ffmpeg process: `stderr` lines, `progress` once media flows, `exit` exactly once. */
export interface FfmpegJob extends EventEmitter<{ stderr: [string]; progress: []; exit: [string | null] }> {
  readonly pid: number | undefined;
  /** Sends a signal; exit follows. */
  kill(signal: NodeJS.Signals): void;
}

/** Starts the ingest job: source → (re-encode or copy) → FLV published into NMS. */
export function startIngest(channel: ChannelConfig, publishUrl: string, ffmpegPath: string): FfmpegJob {
  const command = ffmpeg();
  addSource(command, channel);
  command.outputOptions(encodeOptions(channel)).outputOptions(["-f", "flv", "-flvflags", "no_duration_filesize"]).output(publishUrl);
  return run(command, ffmpegPath);
}

/**
 * Starts the packager job: plays the channel back from NMS (let in by its pid, no credential) and copies it
 * into HLS segments. Media sequence numbers start from the epoch so a restart never reuses a number.
 */
export function startPackager(
  channel: ChannelConfig,
  playUrl: string,
  hlsDir: string,
  ffmpegPath: string,
  keyInfoFile?: string,
): FfmpegJob {
  const command = ffmpeg().input(playUrl).inputOptions(["-rw_timeout", "10000000"]);
  if (channel.renditions.length === 0) {
    command
      .outputOptions(["-c", "copy", ...hlsOptions(channel, keyInfoFile), "-hls_segment_filename", `${hlsDir}/seg_%d.ts`])
      .output(`${hlsDir}/index.m3u8`);
  } else {
    command.outputOptions(ladderOptions(channel));
    // Two-argument form: fluent-ffmpeg splits an array element of exactly two words (two renditions).
    command.outputOptions("-var_stream_map", channel.renditions.map((r, i) => `v:${i},a:${i},name:${r.name}`).join(" "));
    command
      .outputOptions([...hlsOptions(channel, keyInfoFile), "-hls_segment_filename", `${hlsDir}/%v_seg_%d.ts`])
      .output(`${hlsDir}/%v.m3u8`);
  }
  return run(command, ffmpegPath);
}

/**
 * The HLS muxer's options: a sliding live window, numbers from the epoch so a restart never reuses one.
 * Encrypted (a key-info file): AES-128 with the key the file names, re-read at every segment
 * (`periodic_rekey`), so the server rotates keys by rewriting that file.
 */
function hlsOptions(channel: ChannelConfig, keyInfoFile?: string): string[] {
  const encrypted = keyInfoFile === undefined ? [] : ["-hls_key_info_file", keyInfoFile];
  return [
    ...encrypted,
    "-f",
    "hls",
    "-hls_time",
    String(channel.hls.segmentSec),
    "-hls_list_size",
    String(channel.hls.listSize),
    "-hls_delete_threshold",
    "2",
    "-hls_flags",
    `delete_segments+independent_segments+temp_file${keyInfoFile === undefined ? "" : "+periodic_rekey"}`,
    "-hls_start_number_source",
    "epoch",
  ];
}

/**
 * Every rendition from one decode: the picture split and scaled once per rung, each encoded with its own
 * bitrate and profile, the audio encoded once per rung (HLS variants carry their own audio). Keyframes are
 * forced at the same instants in every rung and scene cuts add none, so segments line up across rungs.
 * VBV buffer of one second: a segment's peak stays near the configured rate. Each rung's level is set
 * (configured-variants.ts), so the master playlist's CODECS is known before the first segment.
 */
function ladderOptions(channel: ChannelConfig): string[] {
  const renditions: readonly RenditionConfig[] = channel.renditions;
  const segmentSec = channel.hls.segmentSec;
  const labels = renditions.map((_, i) => `v${i}`);
  const graph = [
    `[0:v]split=${renditions.length}${labels.map((l) => `[${l}]`).join("")}`,
    ...renditions.map((r, i) => `[v${i}]scale=${r.width}:${r.height}[out${i}]`),
  ].join(";");
  const options = ["-filter_complex", graph];
  renditions.forEach((_, i) => options.push("-map", `[out${i}]`, "-map", "0:a:0"));
  options.push(
    "-c:v",
    "libx264",
    "-tune",
    "zerolatency",
    "-pix_fmt",
    "yuv420p",
    "-force_key_frames",
    `expr:gte(t,n_forced*${segmentSec})`,
    "-sc_threshold",
    "0",
    "-c:a",
    "aac",
    "-ar",
    "48000",
  );
  renditions.forEach((r, i) => {
    const kbps = `${r.videoBitrateKbps}k`;
    options.push(
      `-preset:v:${i}`,
      r.preset,
      `-profile:v:${i}`,
      r.profile,
      `-level:v:${i}`,
      renditionLevel(channel, r),
      `-b:v:${i}`,
      kbps,
      `-maxrate:v:${i}`,
      kbps,
      `-bufsize:v:${i}`,
      kbps,
      `-b:a:${i}`,
      `${r.audioBitrateKbps}k`,
    );
  });
  return options;
}

/** Reads a media file's streams (the packager's first segment) as ffprobe reports them. */
export function probeStreams(file: string, ffprobePath: string): Promise<ProbedStream[]> {
  return new Promise((resolve, reject) => {
    loadFluentFfmpeg().setFfprobePath(ffprobePath);
    loadFluentFfmpeg().ffprobe(file, (error: Error | null, data: Ffmpeg.FfprobeData) => {
      if (error) return reject(error);
      resolve(
        data.streams.map((s) => ({
          codecType: s.codec_type ?? "",
          codecName: s.codec_name ?? "",
          profile: String(s.profile ?? ""),
          width: s.width ?? 0,
          height: s.height ?? 0,
          frameRate: s.r_frame_rate ?? "0/0",
        })),
      );
    });
  });
}

/** One stream of a probed file. */
export interface ProbedStream {
  codecType: string;
  codecName: string;
  profile: string;
  width: number;
  height: number;
  /** As ffprobe writes it: "25/1", "30000/1001". */
  frameRate: string;
}

function addSource(command: Ffmpeg.FfmpegCommand, channel: ChannelConfig): void {
  const source = channel.source;
  switch (source.type) {
    case "testPattern":
      command
        .input(`testsrc2=size=${source.width}x${source.height}:rate=${source.fps}`)
        .inputOptions(["-re", "-f", "lavfi"])
        .input(`sine=frequency=${source.toneHz}:sample_rate=48000`)
        .inputOptions(["-re", "-f", "lavfi"])
        .outputOptions(["-map", "0:v", "-map", "1:a"]);
      return;
    case "file":
      command.input(source.path).inputOptions(["-re", ...(source.loop ? ["-stream_loop", "-1"] : [])]);
      return;
    case "url":
      command
        .input(source.url)
        .inputOptions(["-reconnect", "1", "-reconnect_streamed", "1", "-reconnect_delay_max", "5", "-rw_timeout", "15000000"]);
      return;
    case "rtmp":
      command.input(source.url).inputOptions(["-rw_timeout", "15000000"]);
      return;
  }
}

function encodeOptions(channel: ChannelConfig): string[] {
  const t = channel.transcode;
  if (t.mode === "copy") return ["-c", "copy"];
  const scale = t.width !== null || t.height !== null ? ["-vf", `scale=${t.width ?? -2}:${t.height ?? -2}`] : [];
  return [
    ...scale,
    "-c:v",
    "libx264",
    "-preset",
    t.preset,
    "-tune",
    "zerolatency",
    "-pix_fmt",
    "yuv420p",
    // A stated level, so the master playlist's CODECS is known before the first segment (configured-variants.ts).
    "-level",
    transcodeLevel(channel),
    "-b:v",
    `${t.videoBitrateKbps}k`,
    "-maxrate",
    `${t.videoBitrateKbps}k`,
    "-bufsize",
    `${t.videoBitrateKbps * 2}k`,
    // A keyframe at every segment boundary, so HLS segments have the configured length.
    "-force_key_frames",
    `expr:gte(t,n_forced*${channel.hls.segmentSec})`,
    "-sc_threshold",
    "0",
    "-c:a",
    "aac",
    "-b:a",
    `${t.audioBitrateKbps}k`,
    "-ar",
    "48000",
  ];
}

/**
 * Starts the job with its lifeline (spawnWithLifeline): fluent-ffmpeg only builds the argument list,
 * because its own spawn gives the child no way to notice that the server died.
 */
function run(command: Ffmpeg.FfmpegCommand, ffmpegPath: string): FfmpegJob {
  command.addOption("-nostdin").addOption("-hide_banner").addOption("-loglevel", "warning").addOption("-stats");
  // Pinned fluent-ffmpeg 2.1.3 (archived): its argument builder is the part of it we use.
  const args = (command as unknown as { _getArguments(): string[] })._getArguments();
  return spawnWithLifeline(ffmpegPath, args);
}
