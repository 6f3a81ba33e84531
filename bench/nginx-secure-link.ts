// nginx with `secure_link` (the Debian package) serving a directory of HLS files: the yardstick the HLS
// benches (hls-peer.bench.ts, the soak suite's 2,000-viewer scenario) compare the gate with. Started on
// loopback on a free port with its own prefix directory, no system config.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";

/** The nginx binary, or undefined when it is not installed (`apt-get install -y nginx`). */
export function nginxBinary(): string | undefined {
  const found = spawnSync("sh", ["-c", "command -v nginx || (test -x /usr/sbin/nginx && echo /usr/sbin/nginx)"]).stdout.toString().trim();
  return found === "" ? undefined : found;
}

/** A running nginx; `signed` makes a URL its secure_link accepts for 127.0.0.1. */
export interface SecureLinkNginx {
  readonly port: number;
  readonly proc: ChildProcess;
  /** The path (no query) with `md5` and `expires` for loopback, as secure_link_md5 below expects. */
  signedPath(uri: string): string;
  signedUrl(uri: string): string;
  readonly expires: number;
  stop(): Promise<void>;
}

/**
 * Starts nginx serving `root` (files under `/live/` need a signature: expiry + path + client address, the
 * documented form), access log off, sendfile on, `workDir` for its pid, logs and temp paths. The files
 * and their directories must be world-readable: nginx's workers may run as another user.
 */
export async function startSecureLinkNginx(opts: {
  root: string;
  secret: string;
  workDir: string;
  workerConnections?: number;
  /**
   * The files are the bundled server's private HLS tree (0700/0600, owner only): nginx's workers must run as
   * the files' owner, which the `user` directive does when nginx starts as root (otherwise they already do).
   */
  privateFiles?: boolean;
}): Promise<SecureLinkNginx> {
  const binary = nginxBinary();
  if (binary === undefined) throw new Error("nginx is not installed");
  mkdirSync(join(opts.workDir, "logs"), { recursive: true });
  const port = await freePort();
  const conf = join(opts.workDir, "nginx.conf");
  writeFileSync(
    conf,
    `
${opts.privateFiles === true && process.getuid?.() === 0 ? "user root root;" : ""}
worker_processes auto;
worker_rlimit_nofile 65536;
pid ${join(opts.workDir, "nginx.pid")};
error_log ${join(opts.workDir, "logs", "error.log")} warn;
events { worker_connections ${opts.workerConnections ?? 1024}; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }
  client_body_temp_path ${join(opts.workDir, "tmp-body")};
  proxy_temp_path ${join(opts.workDir, "tmp-proxy")};
  fastcgi_temp_path ${join(opts.workDir, "tmp-fastcgi")};
  uwsgi_temp_path ${join(opts.workDir, "tmp-uwsgi")};
  scgi_temp_path ${join(opts.workDir, "tmp-scgi")};
  server {
    listen 127.0.0.1:${port} backlog=4096;
    root ${opts.root};
    location /live/ {
      secure_link $arg_md5,$arg_expires;
      secure_link_md5 "$secure_link_expires$uri$remote_addr ${opts.secret}";
      if ($secure_link = "") { return 403; }
      if ($secure_link = "0") { return 410; }
    }
  }
}
`,
  );
  const proc = spawn(binary, ["-p", opts.workDir, "-c", conf, "-g", "daemon off;"], { stdio: ["ignore", "ignore", "inherit"] });
  const expires = Math.floor(Date.now() / 1000) + 24 * 3600;
  const signedPath = (uri: string) => {
    const md5 = createHash("md5").update(`${expires}${uri}127.0.0.1 ${opts.secret}`).digest("base64url");
    return `${uri}?md5=${md5}&expires=${expires}`;
  };
  const nginx: SecureLinkNginx = {
    port,
    proc,
    expires,
    signedPath,
    signedUrl: (uri) => `http://127.0.0.1:${port}${signedPath(uri)}`,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGQUIT");
      await exited;
    },
  };
  const deadline = Date.now() + 10_000;
  while (
    !(await fetch(`http://127.0.0.1:${port}/`).then(
      () => true,
      () => false,
    ))
  ) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      await nginx.stop();
      throw new Error(`nginx did not start (see ${join(opts.workDir, "logs", "error.log")})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return nginx;
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}
