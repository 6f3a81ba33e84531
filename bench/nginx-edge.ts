// samples/nginx-edge.conf made runnable in a temp directory, as the edge tests and the peer bench start it:
// one process (`daemon off; master_process off;`), pid, logs and temp files under `prefix`, listening on a
// loopback port, serving `root` with `secret`. Every edit names the sample's line it replaces and throws
// when that line is gone, so the sample and what is tested cannot drift apart silently.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const NGINX_EDGE_SAMPLE = join(dirname(fileURLToPath(import.meta.url)), "..", "samples", "nginx-edge.conf");
const SAMPLE_SECRET = "CHANGE-ME-edge-secret-0123456789";

export interface NginxEdgeOptions {
  prefix: string;
  port: number;
  root: string;
  secret: string;
  /** True writes an access log (`<prefix>/logs/access.log`) to see what nginx served. */
  accessLog?: boolean;
  /** False keeps the sample's workers (one per core, as deployed: the bench); true runs one process (tests). */
  singleProcess?: boolean;
}

/** The sample, edited to run under `prefix`. */
export function nginxEdgeConf(options: NginxEdgeOptions): string {
  let conf = readFileSync(NGINX_EDGE_SAMPLE, "utf8");
  const replace = (from: string, to: string) => {
    if (!conf.includes(from)) throw new Error(`samples/nginx-edge.conf no longer has ${JSON.stringify(from)}`);
    conf = conf.split(from).join(to);
  };
  const logs = join(options.prefix, "logs");
  const processes = options.singleProcess === false ? "worker_processes auto;\ndaemon off;" : "daemon off;\nmaster_process off;";
  replace("worker_processes auto;", `${processes}\npid ${join(options.prefix, "nginx.pid")};\nerror_log ${join(logs, "error.log")} warn;`);
  replace("worker_connections 4096;", "worker_connections 1024;");
  replace(
    "    access_log off;\n",
    [
      options.accessLog === true ? `    access_log ${join(logs, "access.log")};` : "    access_log off;",
      ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `    ${t}_temp_path ${join(options.prefix, `tmp-${t}`)};`),
      "",
    ].join("\n"),
  );
  replace("listen 8080;", `listen 127.0.0.1:${options.port};`);
  replace("root /var/lib/nms-viewer-auth/hls;", `root ${options.root};`);
  replace(` ${SAMPLE_SECRET}";`, ` ${options.secret}";`);
  return conf;
}

/** nginx (the Debian package's binary) started on the edited sample; stop it with `stopNginx`. */
export function startNginxEdge(options: NginxEdgeOptions, binary = "/usr/sbin/nginx"): ChildProcess {
  mkdirSync(join(options.prefix, "logs"), { recursive: true });
  const conf = join(options.prefix, "nginx.conf");
  writeFileSync(conf, nginxEdgeConf(options));
  const child = spawn(binary, ["-p", options.prefix, "-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
  child.stderr!.resume();
  return child;
}

/** Stops nginx gracefully (SIGQUIT) and waits for it, SIGKILL after 5 s. */
export async function stopNginx(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGQUIT");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}
