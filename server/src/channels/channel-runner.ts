import { makeHlsDir, type DataModes } from "../data-modes.js";
import { join } from "node:path";
import type { LocalProcesses } from "nms-viewer-auth";
import type { Clock, Logger, Redactor } from "nms-viewer-auth/server-kit";
import { startIngest, startPackager } from "../ffmpeg/ffmpeg-jobs.js";
import type { ChannelConfig } from "../server-config-schema.js";
import { KeyRotator } from "./key-rotator.js";
import { MasterPlaylistWriter } from "./master-playlist.js";
import { ProcessSupervisor, type RestartPolicy, type SupervisedState } from "./process-supervisor.js";

/** Where a channel's processes connect, and where their pids are registered as the server's own. */
export interface ChannelEndpoints {
  rtmpPort: number;
  hlsRoot: string;
  /** Where encrypted channels' keys go (`<keysRoot>/<app>/<channel>/`), outside every served folder. */
  keysRoot: string;
  /** The plugin's proof set: a running ingest or packager is in it, so its loopback RTMP connection is let in. */
  internalProcesses: LocalProcesses;
  ffmpegPath: string;
  ffprobePath: string;
  /** Modes of the HLS directories and of the files the server writes there (server/src/data-modes.ts). */
  modes: DataModes;
  /** Times the supervised runs (restart backoff) and state changes. Default: the system clock. */
  clock?: Clock;
}

/** A channel's state for the status endpoint. */
export interface ChannelStatus {
  id: string;
  app: string;
  state: "up" | "down" | "starting" | "stopped";
  ingest: SupervisedState;
  packager: SupervisedState;
}

/**
 * ChannelRunner keeps one channel on air with two supervised ffmpeg jobs: the ingest publishes the
 * source into NMS and the packager plays it back over loopback RTMP and writes HLS. Neither URL carries
 * a credential (a command line is readable by every local user): each job's pid is in
 * `internalProcesses` while it runs, and the plugin lets in a loopback RTMP connection whose client end
 * the kernel says one of them holds (the ingest whatever `publish.allowIps` says).
 */
export class ChannelRunner {
  readonly config: ChannelConfig;
  readonly ingest: ProcessSupervisor;
  readonly packager: ProcessSupervisor;
  /** Writes the channel's master playlist from what the packager produces. */
  readonly master: MasterPlaylistWriter;
  /** An encrypted channel's keys (undefined: clear). */
  readonly keys: KeyRotator | undefined;

  /** `redactor` must know the source's credentials: ffmpeg prints its input URL in its errors. */
  constructor(config: ChannelConfig, endpoints: ChannelEndpoints, policy: RestartPolicy, log: Logger, redactor: Redactor) {
    this.config = config;
    const streamPath = `/${config.app}/${config.id}`;
    const base = `rtmp://127.0.0.1:${endpoints.rtmpPort}${streamPath}`;
    const hlsDir = join(endpoints.hlsRoot, config.app, config.id);
    makeHlsDir(join(endpoints.hlsRoot, config.app), endpoints.modes);
    makeHlsDir(hlsDir, endpoints.modes);
    const channelLog = log.child({ channel: config.id });
    this.ingest = new ProcessSupervisor(
      `${config.id}/ingest`,
      () => startIngest(config, base, endpoints.ffmpegPath),
      policy,
      channelLog,
      redactor,
      endpoints.internalProcesses,
      endpoints.clock,
    );
    const encryption = config.hls.encryption;
    const playlists = config.renditions.length > 0 ? config.renditions.map((r) => `${r.name}.m3u8`) : ["index.m3u8"];
    this.keys =
      encryption === null
        ? undefined
        : new KeyRotator(
            join(endpoints.keysRoot, config.app, config.id),
            hlsDir,
            playlists,
            encryption.rotateEverySegments,
            config.hls.segmentSec,
            channelLog,
          );
    this.master = new MasterPlaylistWriter(config, hlsDir, endpoints.ffprobePath, channelLog, endpoints.modes.hlsFileMode, this.keys);
    this.packager = new ProcessSupervisor(
      `${config.id}/packager`,
      () => {
        this.master.reset(); // a restarted packager may carry another picture (a copied source changed)
        this.keys?.prepare();
        return startPackager(config, base, hlsDir, endpoints.ffmpegPath, this.keys?.keyInfoFile);
      },
      policy,
      channelLog,
      redactor,
      endpoints.internalProcesses,
      endpoints.clock,
    );
  }

  start(): void {
    this.ingest.start();
    this.packager.start();
    this.master.start();
    this.keys?.start();
  }

  async stop(): Promise<void> {
    this.master.stop();
    await Promise.all([this.ingest.stop(), this.packager.stop()]);
    this.keys?.stop();
  }

  status(): ChannelStatus {
    const ingest = { ...this.ingest.status };
    const packager = { ...this.packager.status };
    const states = [ingest.state, packager.state];
    const state = states.every((s) => s === "up")
      ? "up"
      : states.includes("down")
        ? "down"
        : states.includes("starting")
          ? "starting"
          : "stopped";
    return { id: this.config.id, app: this.config.app, state, ingest, packager };
  }
}
