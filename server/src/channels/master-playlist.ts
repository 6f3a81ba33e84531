import { chmod, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Logger, MASTER_PENDING_FILE, segmentsOf } from "nms-viewer-auth/server-kit";
import { probeStreams, type ProbedStream } from "../ffmpeg/ffmpeg-jobs.js";
import type { ChannelConfig } from "../server-config-schema.js";
import { configuredStreams, type ConfiguredStream } from "./configured-variants.js";

/** What a master playlist says about one variant. */
export interface VariantFacts {
  uri: string;
  /** Peak bits/s over a segment (BANDWIDTH). */
  bandwidth: number;
  /** Mean bits/s over the segments so far (AVERAGE-BANDWIDTH). */
  averageBandwidth: number;
  /** RFC 6381 codec strings, as hls.js and Safari read them: `avc1.4d401e,mp4a.40.2`. */
  codecs: string;
  width: number;
  height: number;
  /** Frames per second; null leaves FRAME-RATE out (not known before the first segment's probe). */
  frameRate: number | null;
}

/** How often the renditions are looked at until every one has been probed: the first master is not late. */
const EARLY_TICK_MS = 250;

/** A multivariant playlist listing `variants` in the order given. */
export function masterPlaylist(variants: readonly VariantFacts[]): string {
  const lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"];
  for (const v of variants) {
    const frameRate = v.frameRate === null ? "" : `,FRAME-RATE=${v.frameRate.toFixed(3)}`;
    lines.push(
      `#EXT-X-STREAM-INF:BANDWIDTH=${Math.round(v.bandwidth)},AVERAGE-BANDWIDTH=${Math.round(v.averageBandwidth)},CODECS="${v.codecs}",RESOLUTION=${v.width}x${v.height}${frameRate}`,
      v.uri,
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * The `avc1.PPCCLL` codec string of the first H.264 sequence parameter set in a segment: profile_idc,
 * the constraint flags and level_idc, the three bytes after the SPS NAL header, exactly as the stream
 * carries them (ffprobe reports the profile and level but not the constraint flags).
 */
export function avcCodecOf(segment: Buffer): string | null {
  for (let i = segment.indexOf(SPS_START); i >= 0 && i + 7 <= segment.length; i = segment.indexOf(SPS_START, i + 1)) {
    const hex = segment.subarray(i + 4, i + 7).toString("hex");
    if (hex.length === 6) return `avc1.${hex}`;
  }
  return null;
}
/** A start code followed by a NAL header of type 7 (SPS) with nal_ref_idc 3. */
const SPS_START = Buffer.from([0x00, 0x00, 0x01, 0x67]);

/** The `mp4a.40.<object type>` string for ffprobe's AAC profile name; null for any other audio. */
export function audioCodecOf(stream: ProbedStream): string | null {
  if (stream.codecName === "mp3") return "mp4a.40.34";
  if (stream.codecName !== "aac") return null;
  return { LC: "mp4a.40.2", "HE-AAC": "mp4a.40.5", "HE-AACv2": "mp4a.40.29" }[stream.profile] ?? null;
}

/** Frames per second from ffprobe's rational ("30000/1001"). */
export function frameRateOf(rational: string): number {
  const [num, den] = rational.split("/").map(Number);
  return num !== undefined && den !== undefined && den > 0 ? num / den : 0;
}

/** Why a rendition's first segment gave no picture and codecs (yet). */
type ProbeFailure = "no-segment-yet" | "ffprobe-not-found" | "ffprobe-failed" | "no-h264" | "no-key";

/** An encrypted channel's segments as the probe needs them: decrypted, in a private file (key-rotator.ts). */
export interface ClearSegments {
  withClearCopy<T>(
    playlist: string,
    segmentUri: string,
    bytes: Buffer,
    use: (file: string, clear: Buffer) => Promise<T>,
  ): Promise<T | null>;
}

/** A spawn of a missing program: ENOENT, or fluent-ffmpeg's own "Cannot find ffprobe". */
function isNotFound(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === "ENOENT" || (typeof message === "string" && /ENOENT|Cannot find ffprobe/i.test(message));
}

/** A variant's measured picture, codecs and bitrates. */
interface VariantState {
  stream: { codecs: string; width: number; height: number; frameRate: number | null } | undefined;
  /** Segment URI → bits/s, for the segments already measured (the ones still listed). */
  measured: Map<string, number>;
  peak: number;
  sum: number;
  count: number;
  /** The probe failure causes already logged (each once). */
  causesLogged: Set<ProbeFailure>;
}

/**
 * MasterPlaylistWriter writes a channel's master playlist from what the packager produced, because ffmpeg
 * 5.1's own master lacks FRAME-RATE and AVERAGE-BANDWIDTH (and for a single copied rendition is not
 * written at all). Every rendition is read from its output: CODECS from the first segment's SPS bytes
 * and ffprobe's audio profile, RESOLUTION and FRAME-RATE from ffprobe of that segment, BANDWIDTH as the
 * peak and AVERAGE-BANDWIDTH as the mean bitrate of the segments measured so far (size × 8 / EXTINF).
 * So the master says what players will actually get, for a copied stream as for an encoded one.
 *
 * Until a rendition's first segment is probed, its entry says what the configuration tells the encoder
 * (configured-variants.ts: profile and level → `avc1.PPCCLL`, AAC-LC → `mp4a.40.2`, the configured size),
 * so no master ever lacks CODECS and RESOLUTION: a single rendition's `master.m3u8` is written at start,
 * before its media playlist exists; a ladder's once every rendition has a segment (it must not list a
 * playlist a player cannot load yet). Where the configuration does not determine them (a copied source,
 * a size taken from the source), `master.pending` marks the wait and the gate holds a new viewer's first
 * playlist until the probed master lands.
 *
 * The file is written (atomically: temp file, then rename) once every rendition has a segment (or from
 * the configuration, above), again when the probed facts replace the configured ones, and when the peak
 * rises or the mean moves by more than a tenth. A single-rendition channel keeps its
 * media playlist as `index.m3u8` and gets `master.m3u8` beside it (the gate's one-variant wrapper takes
 * its attributes from there); a ladder's master is both `index.m3u8` and `master.m3u8`.
 */
export class MasterPlaylistWriter {
  readonly #dir: string;
  /** Mode of the playlists it writes (the HLS files' mode, whatever the umask). */
  readonly #fileMode: number;
  readonly #variants: readonly string[];
  readonly #outputs: readonly string[];
  readonly #ffprobePath: string;
  readonly #log: Logger;
  readonly #intervalMs: number;
  #states = new Map<string, VariantState>();
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #written: { peaks: number[]; means: number[]; streams: string } | undefined;
  /** What the configuration determines, by variant; null when the master must wait for probes. */
  readonly #configured: Map<string, ConfiguredStream> | null;
  readonly #ladder: boolean;
  /** Set for an encrypted channel: its segments are probed decrypted. */
  readonly #clear: ClearSegments | undefined;

  constructor(channel: ChannelConfig, dir: string, ffprobePath: string, log: Logger, fileMode = 0o600, clear?: ClearSegments) {
    this.#dir = dir;
    this.#clear = clear;
    this.#fileMode = fileMode;
    const ladder = channel.renditions.length > 0;
    this.#ladder = ladder;
    this.#configured = configuredStreams(channel);
    this.#variants = ladder ? channel.renditions.map((r) => r.name) : ["index"];
    this.#outputs = ladder ? ["master.m3u8", "index.m3u8"] : ["master.m3u8"];
    this.#ffprobePath = ffprobePath;
    this.#log = log;
    this.#intervalMs = Math.max(250, channel.hls.segmentSec * 500);
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#stopped = false;
    this.#markPending();
    this.#schedule(0);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Forgets what was measured: the packager restarted, and its source may have changed. */
  reset(): void {
    this.#states = new Map();
    this.#written = undefined;
    this.#markPending();
  }

  #stopped = false;

  /** Looks again after `delayMs`; then every `EARLY_TICK_MS` until every rendition is probed, then each half segment. */
  #schedule(delayMs: number): void {
    this.#timer = setTimeout(() => {
      void this.tick().finally(() => {
        if (this.#stopped) return;
        const probed = this.#variants.every((name) => this.#states.get(name)?.stream !== undefined);
        this.#schedule(probed ? this.#intervalMs : EARLY_TICK_MS);
      });
    }, delayMs);
    this.#timer.unref();
  }

  /**
   * Without configured facts, a master from a previous run may describe another picture: it goes, and the
   * marker tells the gate one is coming.
   */
  #markPending(): void {
    if (this.#configured !== null) return;
    void (async () => {
      for (const output of this.#outputs) await rm(join(this.#dir, output), { force: true });
      await writeFile(join(this.#dir, MASTER_PENDING_FILE), "", { mode: this.#fileMode });
    })().catch((error: unknown) =>
      this.#log.warn({ event: "hls.master_failed", err: error, dir: this.#dir }, "could not mark the master playlist pending"),
    );
  }

  /** One look at the renditions' playlists; writes the master when it is due. Public for tests. */
  async tick(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      const facts: VariantFacts[] = [];
      for (const name of this.#variants) {
        const variant = (await this.#measure(name)) ?? this.#unsegmented(name);
        if (variant === null) return;
        facts.push(variant);
      }
      await this.#writeIfChanged(facts);
    } catch (error) {
      this.#log.warn({ event: "hls.master_failed", err: error, dir: this.#dir }, "could not write the master playlist");
    } finally {
      this.#running = false;
    }
  }

  /** A single rendition's configured facts while its playlist has no segment (a ladder waits: see the class). */
  #unsegmented(name: string): VariantFacts | null {
    const configured = this.#ladder ? undefined : this.#configured?.get(name);
    if (configured === undefined) return null;
    const { bandwidth, ...stream } = configured;
    return { uri: `${name}.m3u8`, bandwidth, averageBandwidth: bandwidth, ...stream };
  }

  async #measure(name: string): Promise<VariantFacts | null> {
    const playlist = await readFile(join(this.#dir, `${name}.m3u8`), "utf8").catch(() => null);
    if (playlist === null) return null;
    const segments = segmentsOf(playlist);
    if (segments.length === 0) return null;
    let state = this.#states.get(name);
    if (state === undefined) {
      state = { stream: undefined, measured: new Map(), peak: 0, sum: 0, count: 0, causesLogged: new Set() };
      this.#states.set(name, state);
    }
    const listed = new Set(segments.map((s) => s.uri));
    for (const uri of state.measured.keys()) if (!listed.has(uri)) state.measured.delete(uri);
    for (const segment of segments) {
      if (state.measured.has(segment.uri) || segment.durationSec <= 0) continue;
      const info = await stat(join(this.#dir, segment.uri)).catch(() => null);
      if (info === null) continue; // deleted meanwhile
      const bitsPerSec = (info.size * 8) / segment.durationSec;
      state.measured.set(segment.uri, bitsPerSec);
      state.peak = Math.max(state.peak, bitsPerSec);
      state.sum += bitsPerSec;
      state.count += 1;
    }
    if (state.stream === undefined) {
      const probed = await this.#probe(playlist, segments[0]!.uri);
      if (typeof probed === "string") {
        // Each cause once: "no segment yet" is normal for a moment and must not hide a missing ffprobe after it.
        if (!state.causesLogged.has(probed)) {
          state.causesLogged.add(probed);
          this.#log.warn(
            { event: "hls.master_probe_failed", rendition: name, cause: probed, ffprobePath: this.#ffprobePath },
            `${this.#causeText(probed)}: no master playlist yet`,
          );
        }
      } else {
        state.stream = probed;
      }
    }
    const configured = this.#configured?.get(name);
    const stream = state.stream ?? (configured === undefined ? undefined : streamOf(configured));
    if (stream === undefined) return null;
    const bandwidth = state.count > 0 ? state.peak : configured?.bandwidth;
    if (bandwidth === undefined) return null;
    const averageBandwidth = state.count > 0 ? state.sum / state.count : bandwidth;
    return { uri: `${name}.m3u8`, bandwidth, averageBandwidth, ...stream };
  }

  async #probe(playlist: string, segmentUri: string): Promise<NonNullable<VariantState["stream"]> | ProbeFailure> {
    const segmentFile = join(this.#dir, segmentUri);
    const bytes = await readFile(segmentFile).catch(() => null);
    // ffmpeg lists a segment once it is complete, but a deleted or still empty one is not yet something to probe.
    if (bytes === null || bytes.length === 0) return "no-segment-yet";
    if (this.#clear === undefined) return this.#probeClear(segmentFile, bytes);
    // Encrypted: ffprobe and the SPS search need the clear stream; a wrong key fails the padding check.
    const probed = await this.#clear
      .withClearCopy(playlist, segmentUri, bytes, (file, clear) => this.#probeClear(file, clear))
      .catch((): ProbeFailure => "no-key");
    return probed ?? "no-key";
  }

  async #probeClear(segmentFile: string, bytes: Buffer): Promise<NonNullable<VariantState["stream"]> | ProbeFailure> {
    let streams: ProbedStream[];
    try {
      streams = await probeStreams(segmentFile, this.#ffprobePath);
    } catch (error) {
      return isNotFound(error) ? "ffprobe-not-found" : "ffprobe-failed";
    }
    const video = streams.find((s) => s.codecType === "video");
    const audio = streams.find((s) => s.codecType === "audio");
    const avc = avcCodecOf(bytes);
    if (video === undefined || avc === null) return "no-h264";
    const codecs = [avc, ...(audio === undefined ? [] : [audioCodecOf(audio)])];
    if (codecs.includes(null)) {
      this.#log.warn(
        { event: "hls.master_codec_unknown", audio: audio?.codecName, profile: audio?.profile },
        "audio codec has no HLS CODECS string; master written without it",
      );
    }
    return {
      codecs: codecs.filter((c) => c !== null).join(","),
      width: video.width,
      height: video.height,
      frameRate: frameRateOf(video.frameRate),
    };
  }

  #causeText(cause: ProbeFailure): string {
    return {
      "no-segment-yet": "no segment yet to probe",
      "ffprobe-not-found": `ffprobe not found at ${this.#ffprobePath} (set server.ffprobePath)`,
      "ffprobe-failed": `ffprobe at ${this.#ffprobePath} could not read the rendition's first segment`,
      "no-h264": "the rendition's first segment holds no H.264 video",
      "no-key": "the rendition's first segment could not be decrypted (its key is gone)",
    }[cause];
  }

  async #writeIfChanged(facts: VariantFacts[]): Promise<void> {
    const peaks = facts.map((f) => f.bandwidth);
    const means = facts.map((f) => f.averageBandwidth);
    const streams = JSON.stringify(facts.map((f) => [f.codecs, f.width, f.height, f.frameRate]));
    const last = this.#written;
    const due =
      last === undefined ||
      streams !== last.streams ||
      peaks.some((p, i) => p > last.peaks[i]!) ||
      means.some((m, i) => Math.abs(m - last.means[i]!) > last.means[i]! / 10);
    if (!due) return;
    const text = masterPlaylist(facts);
    for (const output of this.#outputs) {
      const file = join(this.#dir, output);
      await writeFile(`${file}.tmp`, text, { mode: this.#fileMode });
      await chmod(`${file}.tmp`, this.#fileMode);
      await rename(`${file}.tmp`, file);
    }
    this.#written = { peaks, means, streams };
    if (this.#configured === null) await rm(join(this.#dir, MASTER_PENDING_FILE), { force: true });
  }
}

function streamOf(configured: ConfiguredStream): NonNullable<VariantState["stream"]> {
  return { codecs: configured.codecs, width: configured.width, height: configured.height, frameRate: configured.frameRate };
}
