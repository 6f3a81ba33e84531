// samples/many-core/ made runnable on loopback, as the many-core test starts it: the origin and edge
// configurations keep every section of the samples and change only what a test run must (ports, Redis,
// data directories, a small test channel, users inline), and nginx.conf keeps its upstream and proxy
// lines with the ports of the running edges. Every edit names the sample's text it replaces and throws
// when that text is gone, so the samples and what is tested cannot drift apart silently.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { testChannel } from "./test-channel.js";

export const MANY_CORE_SAMPLES = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "samples", "many-core");

type Config = Record<string, any>;

function readSample(file: string): Config {
  return parse(readFileSync(join(MANY_CORE_SAMPLES, file), "utf8")) as Config;
}

function replaceIn(text: string, from: string, to: string, file: string): string {
  if (!text.includes(from)) throw new Error(`samples/many-core/${file} no longer has ${JSON.stringify(from)}`);
  return text.split(from).join(to);
}

/** The plugin sections of a sample (startEdge supplies `server` and `api` on port 0). */
function withoutListeners(config: Config): Config {
  const { server: _server, api: _api, ...rest } = config;
  return rest;
}

/** The pull token the edges carry: the origin's one user's token, as in the samples. */
export function samplePullToken(): string {
  return readSample("origin.yaml").auth.users[0].tokens[0] as string;
}

/** origin.yaml with the small test-pattern channel `test` instead of the sample's contribution feed. */
export function originTestConfig(): Config {
  const origin = withoutListeners(readSample("origin.yaml"));
  return { ...origin, channels: [{ ...testChannel("test"), app: origin.channels[0].app }] };
}

/**
 * edge.yaml for one edge: what VA_NODE_ID and VA_REDIS_URL give in the sample's unit, the channel `test`
 * pulled from the origin's RTMP port (the sample's source URL with that port and channel, its token kept),
 * remuxed as the sample says, and `users` instead of the sample's users file.
 */
export function edgeTestConfig(options: {
  nodeId: string;
  redisUrl: string;
  originRtmpPort: number;
  users: unknown[];
  heartbeatMs: number;
}): Config {
  const edge = withoutListeners(readSample("edge.yaml"));
  const channel = edge.channels[0];
  const url = replaceIn(
    replaceIn(channel.source.url as string, "rtmp://127.0.0.1:1936/", `rtmp://127.0.0.1:${options.originRtmpPort}/`, "edge.yaml"),
    "/live/news?",
    "/live/test?",
    "edge.yaml",
  );
  const { usersFile: _usersFile, ...auth } = edge.auth;
  return {
    ...edge,
    auth: { ...auth, users: options.users },
    channels: [{ ...channel, id: "test", source: { ...channel.source, url }, hls: testChannel("test").hls }],
    cluster: { ...edge.cluster, redis: options.redisUrl, nodeId: options.nodeId, heartbeatMs: options.heartbeatMs, timeoutMs: 500 },
  };
}

/** nginx.conf in `prefix`: one process, listening on 127.0.0.1:`port`, its upstream the running edges' HTTP ports. */
export function nginxTestConf(options: { prefix: string; port: number; edgeHttpPorts: number[] }): string {
  const file = "nginx.conf";
  let conf = readFileSync(join(MANY_CORE_SAMPLES, file), "utf8");
  const replace = (from: string, to: string) => (conf = replaceIn(conf, from, to, file));
  const logs = join(options.prefix, "logs");
  replace(
    "worker_processes 1;",
    `daemon off;\nmaster_process off;\npid ${join(options.prefix, "nginx.pid")};\nerror_log ${join(logs, "error.log")} warn;`,
  );
  replace("worker_connections 8192;", "worker_connections 1024;");
  replace(
    "    access_log off;\n",
    [
      `    access_log ${join(logs, "access.log")};`,
      ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `    ${t}_temp_path ${join(options.prefix, `tmp-${t}`)};`),
      "",
    ].join("\n"),
  );
  const servers = options.edgeHttpPorts.map((port) => `        server 127.0.0.1:${port} max_fails=1 fail_timeout=5s;`).join("\n");
  replace(
    "        server 127.0.0.1:8101 max_fails=1 fail_timeout=5s;\n        server 127.0.0.1:8102 max_fails=1 fail_timeout=5s;",
    servers,
  );
  replace("listen 80;", `listen 127.0.0.1:${options.port};`);
  return conf;
}
