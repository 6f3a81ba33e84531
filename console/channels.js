// Channels: state, restarts, last ffmpeg error, viewers now per protocol and over the last hour, and a
// preview player (hls.js, through a signed link the console mints for itself).
import { html, useEffect, useRef, useState } from "./vendor/htm-preact.js";
import { api, may } from "./api.js";
import { LineChart } from "./chart.js";
import { formatCount, formatDuration } from "./format.js";

const REFRESH_MS = 10_000;

export function ChannelsPage() {
  const [channels, setChannels] = useState([]);
  const [viewers, setViewers] = useState({ now: {}, history: {} });
  const [error, setError] = useState("");
  useEffect(() => {
    const load = async () => {
      try {
        const [c, v] = await Promise.all([api("GET", "channels"), api("GET", "viewers/history")]);
        setChannels(c.channels);
        setViewers(v);
        setError("");
      } catch (e) {
        setError(e.message);
      }
    };
    load();
    const timer = setInterval(load, REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  return html`
    <h1>Channels</h1>
    ${error !== "" && html`<p class="error">${error}</p>`}
    ${channels.length === 0 && error === "" && html`<p class="muted">No channels reported (the bundled server reports its own).</p>`}
    <div class="cards">
      ${channels.map(
        (c) => html`<${ChannelCard} key=${`${c.app}/${c.id}`} channel=${c}
        now=${viewers.now[`${c.app}/${c.id}`] ?? {}} history=${viewers.history[`${c.app}/${c.id}`] ?? []} />`,
      )}
    </div>`;
}

function ChannelCard({ channel, now, history }) {
  const name = `${channel.app}/${channel.id}`;
  const restarts = (channel.ingest?.restarts ?? 0) + (channel.packager?.restarts ?? 0);
  const lastError = channel.packager?.lastError ?? channel.ingest?.lastError ?? null;
  const total = Object.values(now).reduce((a, b) => a + b, 0);
  const to = Date.now();
  // The samples of the last hour, then the count now (the latest sample may be up to 10 s old).
  const points = [...history.map((s) => ({ x: s.at, y: Object.values(s.viewers).reduce((a, b) => a + b, 0) })), { x: to, y: total }];
  // The preview plays as the page opens (muted, so browsers allow it without a click); Stop ends it.
  const [previewing, setPreviewing] = useState(may("operator"));
  return html`
    <article class="card channel" data-channel=${name}>
      <header>
        <h2>${name}</h2>
        <span class=${`badge ${channel.state === "up" ? "up" : "down"}`}>${channel.state}</span>
      </header>
      <dl class="facts">
        <dt>Up for</dt><dd>${channel.state === "up" && channel.packager?.since ? formatDuration((to - channel.packager.since) / 1000) : "—"}</dd>
        <dt>Restarts</dt><dd>${formatCount(restarts)}</dd>
        <dt>Viewers now</dt><dd>${formatCount(total)}${
          total > 0
            ? ` (${Object.entries(now)
                .map(([p, n]) => `${p} ${n}`)
                .join(", ")})`
            : ""
        }</dd>
        <dt>Last ffmpeg error</dt><dd class="error-line">${lastError ?? "none"}</dd>
      </dl>
      <${LineChart} points=${points} from=${to - 3_600_000} to=${to} label=${`viewers of ${name} over the last hour`} formatY=${(v) => formatCount(v)} />
      ${previewing && html`<${Preview} channel=${name} />`}
      ${
        may("operator") &&
        html`<button type="button" class="small" aria-pressed=${previewing ? "true" : "false"} onClick=${() => setPreviewing(!previewing)}>
          ${previewing ? "Stop preview" : "Preview"}
        </button>`
      }
    </article>`;
}

function Preview({ channel }) {
  const video = useRef(null);
  const [status, setStatus] = useState("loading");
  useEffect(() => {
    let hls;
    let stopped = false;
    (async () => {
      try {
        const link = await api("GET", `console/preview?channel=${encodeURIComponent(channel)}`);
        const url = `${location.protocol}//${location.hostname}:${link.port}${link.path}`;
        const { default: Hls } = await import("./vendor/hls.mjs").catch(() => {
          throw new Error("the player (the hls.js package) is not installed beside the plugin");
        });
        if (stopped) return;
        if (!Hls.isSupported()) return setStatus("this browser cannot play HLS through MediaSource");
        // No worker: the strict policy allows workers from blob: but there is nothing to gain for a preview.
        hls = new Hls({ enableWorker: false, lowLatencyMode: false });
        hls.on(Hls.Events.ERROR, (_e, data) => data.fatal && setStatus(`playback failed: ${data.details}`));
        hls.on(Hls.Events.MANIFEST_PARSED, () => {
          setStatus("playing");
          video.current.play().catch(() => setStatus("press play"));
        });
        hls.loadSource(url);
        hls.attachMedia(video.current);
      } catch (e) {
        setStatus(`no preview: ${e.message}`);
      }
    })();
    return () => {
      stopped = true;
      hls?.destroy();
    };
  }, [channel]);
  return html`
    <div class="preview">
      <video ref=${video} muted autoplay playsinline controls aria-label=${`preview of ${channel}`}></video>
      <p class="muted" role="status">${status}</p>
    </div>`;
}
