import type { ServerConfig } from "./server-config-schema.js";

/** What one channel is served as, by protocol. */
export interface ChannelUrls {
  readonly channel: string;
  readonly hls: string;
  readonly httpFlv: string;
  readonly wsFlv: string;
  readonly rtmp: string;
}

/** Everything the server serves, with the real ports; no credential (viewers add their own). */
export interface ServingUrls {
  readonly channels: readonly ChannelUrls[];
  /** The management API and its console; null when the API is off. */
  readonly api: { readonly url: string; readonly console: string } | null;
}

/**
 * The URLs the server serves, as a viewer on this host reaches them: a wildcard bind (0.0.0.0, ::) is
 * shown as the loopback address of its family, since it has no address of its own to print.
 */
export function servingUrls(config: ServerConfig, ports: { rtmp: number; http: number; api: number }): ServingUrls {
  const host = hostOf(config.server.bind);
  const channels = config.channels.map((c) => {
    const path = `${c.app}/${c.id}`;
    return {
      channel: path,
      hls: `http://${host}:${ports.http}/${path}/index.m3u8`,
      httpFlv: `http://${host}:${ports.http}/${path}.flv`,
      wsFlv: `ws://${host}:${ports.http}/${path}.flv`,
      rtmp: `rtmp://${host}:${ports.rtmp}/${path}`,
    };
  });
  const apiHost = hostOf(config.api.bind);
  const api = config.api.enabled ? { url: `http://${apiHost}:${ports.api}/`, console: `http://${apiHost}:${ports.api}/console/` } : null;
  return { channels, api };
}

/** The same URLs as lines for a person at a terminal. */
export function servingText(urls: ServingUrls): string {
  const lines = ["serving:"];
  for (const c of urls.channels) {
    lines.push(
      `  ${c.channel}`,
      `    HLS       ${c.hls}`,
      `    HTTP-FLV  ${c.httpFlv}`,
      `    WS-FLV    ${c.wsFlv}`,
      `    RTMP      ${c.rtmp}`,
    );
  }
  if (urls.channels.length === 0) lines.push("  no channels configured");
  if (urls.api !== null) lines.push(`  API       ${urls.api.url}`, `  console   ${urls.api.console}`);
  return lines.join("\n") + "\n";
}

function hostOf(bind: string): string {
  if (bind === "0.0.0.0" || bind === "") return "127.0.0.1";
  if (bind === "::") return "[::1]";
  return bind.includes(":") ? `[${bind}]` : bind;
}
