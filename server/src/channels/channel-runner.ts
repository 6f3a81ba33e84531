import { makeHlsDir, type DataModes } from "../data-modes.js";
import { join } from "node:path";
import type { Logger } from "../../../plugin/src/core/log.js";
import type { Redactor } from "../../../plugin/src/core/redactor.js";
import { INTERNAL_SECRET_PARAM } from "../../../plugin/src/chain/internal-authorizer.js";
import { systemClock, type Clock } from "../../../plugin/src/core/clock.js";
import { nmsSignFormat } from "../../../plugin/src/securetoken/nms-sign-format.js";
import { startIngest, startPackager } from "../ffmpeg/ffmpeg-jobs.js";
import type { ChannelConfig } from "../server-config-schema.js";
import { MasterPlaylistWriter } from "./master-playlist.js";
import { ProcessSupervisor, type RestartPolicy, type SupervisedState } from "./process-supervisor.js";

/** Where a channel's processes connect, and the secret they use. */
export interface ChannelEndpoints {
  rtmpPort: number;
  hlsRoot: string;
  internalSecret: string;
  ffmpegPath: string;
  ffprobePath: string;
  /** Modes of the HLS directories and of the files the server writes there (server/src/data-modes.ts). */
  modes: DataModes;
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
 * source into NMS (signed with NMS's own publish `sign`, so no one else can take the stream name, and
 * carrying the internal secret, which the plugin's publish policy lets in from loopback whatever
 * `publish.allowIps` says),
 * and the packager plays it back over loopback with the internal secret and writes HLS.
 */
export class ChannelRunner {
  readonly config: ChannelConfig;
  readonly ingest: ProcessSupervisor;
  readonly packager: ProcessSupervisor;
  /** Writes the channel's master playlist from what the packager produces. */
  readonly master: MasterPlaylistWriter;

  /**
   * `redactor` must know the internal secret and the source's credentials: ffmpeg prints both in its
   * errors. `clock` dates the publish sign; NMS checks it against its own system time, so only a test
   * that controls both would pass another.
   */
  constructor(config: ChannelConfig, endpoints: ChannelEndpoints, policy: RestartPolicy, log: Logger, redactor: Redactor, clock: Clock = systemClock) {
    this.config = config;
    const streamPath = `/${config.app}/${config.id}`;
    const base = `rtmp://127.0.0.1:${endpoints.rtmpPort}${streamPath}`;
    const hlsDir = join(endpoints.hlsRoot, config.app, config.id);
    makeHlsDir(join(endpoints.hlsRoot, config.app), endpoints.modes);
    makeHlsDir(hlsDir, endpoints.modes);
    const channelLog = log.child({ channel: config.id });
    this.ingest = new ProcessSupervisor(`${config.id}/ingest`, () => {
      const sign = nmsPublishSign(config.app, config.id, endpoints.internalSecret, clock);
      return startIngest(config, `${base}?${nmsSignFormat.param}=${sign}&${INTERNAL_SECRET_PARAM}=${endpoints.internalSecret}`, endpoints.ffmpegPath);
    }, policy, channelLog, redactor);
    this.master = new MasterPlaylistWriter(config, hlsDir, endpoints.ffprobePath, channelLog, endpoints.modes.hlsFileMode);
    this.packager = new ProcessSupervisor(`${config.id}/packager`, () => {
      this.master.reset(); // a restarted packager may carry another picture (a copied source changed)
      return startPackager(config, `${base}?${INTERNAL_SECRET_PARAM}=${endpoints.internalSecret}`, hlsDir, endpoints.ffmpegPath);
    }, policy, channelLog, redactor);
  }

  start(): void {
    this.ingest.start();
    this.packager.start();
    this.master.start();
  }

  async stop(): Promise<void> {
    this.master.stop();
    await Promise.all([this.ingest.stop(), this.packager.stop()]);
  }

  status(): ChannelStatus {
    const ingest = { ...this.ingest.status };
    const packager = { ...this.packager.status };
    const states = [ingest.state, packager.state];
    const state = states.every((s) => s === "up") ? "up" : states.includes("down") ? "down" : states.includes("starting") ? "starting" : "stopped";
    return { id: this.config.id, app: this.config.app, state, ingest, packager };
  }
}

/** How long an ingest's publish sign stays valid: a day, renewed at every (re)start of the ingest. */
const PUBLISH_SIGN_LIFETIME_SEC = 86400;

/** NMS's own publish `sign` for `/<app>/<channel>` (the `nms` signed-link format), valid for a day from now. */
function nmsPublishSign(app: string, channel: string, secret: string, clock: Clock): string {
  const fields = { startSec: undefined, endSec: Math.floor(clock.now() / 1000) + PUBLISH_SIGN_LIFETIME_SEC, salt: "" };
  const hash = nmsSignFormat.digest(fields, { path: `/${app}/${channel}`, app, channel, ip: "" }, secret);
  return nmsSignFormat.encode({ ...fields, hash });
}
