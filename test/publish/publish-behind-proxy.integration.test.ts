import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Context } from "../helpers/nms4-internals.js";
import { startNms, type NmsInstance } from "../helpers/nms-instance.js";
import { hasFfmpeg, stopProcess, testPatternEncoding, testPatternInputs } from "../helpers/ffmpeg.js";
import { freePort } from "../helpers/free-port.js";
import { waitFor } from "../helpers/wait-for.js";
import { stopNginx } from "../../bench/nginx-edge.js";
import { sleep } from "../helpers/sleep.js";

const NGINX = "/usr/sbin/nginx";
/** An FLV header and the first PreviousTagSize: what a waiting viewer gets before any media. */
const FLV_HEADER_BYTES = 13;

/**
 * nginx as a same-host reverse proxy in front of NMS 4's HTTP port. The realip module stands in for
 * the network beyond it: the test names the client's address in `X-Test-Client`, and nginx reports it
 * as `$remote_addr` (port `reporting`) or reports nothing (port `silent`).
 */
function nginxProxyConf(prefix: string, ports: { reporting: number; silent: number; upstream: number }): string {
  const location = (forwardedFor: string) =>
    [
      "    location / {",
      `      proxy_pass http://127.0.0.1:${ports.upstream};`,
      "      proxy_http_version 1.1;",
      "      proxy_request_buffering off;",
      "      proxy_buffering off;",
      `      proxy_set_header X-Forwarded-For ${forwardedFor};`,
      "    }",
    ].join("\n");
  return [
    "daemon off;",
    "master_process off;",
    `pid ${join(prefix, "nginx.pid")};`,
    `error_log ${join(prefix, "logs", "error.log")} warn;`,
    "events { worker_connections 256; }",
    "http {",
    "  access_log off;",
    ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `  ${t}_temp_path ${join(prefix, `tmp-${t}`)};`),
    "  set_real_ip_from 127.0.0.0/8;",
    "  real_ip_header X-Test-Client;",
    `  server {\n    listen 127.0.0.1:${ports.reporting};\n${location("$remote_addr")}\n  }`,
    `  server {\n    listen 127.0.0.1:${ports.silent};\n${location('""')}\n  }`,
    "}",
    "",
  ].join("\n");
}

describe("publishing through a same-host reverse proxy: real nginx in front of NMS 4.4.3, real ffmpeg HTTP-FLV publishers", function () {
  this.timeout(120000);
  let nms: NmsInstance;
  let nginx: ChildProcess | undefined;
  let root: string;
  let reportingPort: number;
  let silentPort: number;
  const children: ChildProcess[] = [];
  const viewers: { stop(): void }[] = [];
  const config = {
    // Viewers on loopback play; nginx on loopback is the trusted proxy.
    auth: { allowIps: ["127.0.0.1/32"], trustedProxies: ["127.0.0.1/32"] },
    publish: { allowIps: ["127.0.0.1/32", "::1/128", "198.51.100.0/24"] },
  };

  before(async function () {
    if (!hasFfmpeg || !existsSync(NGINX)) this.skip();
    nms = await startNms(config);
    root = mkdtempSync(join(tmpdir(), "va-publish-proxy-"));
    mkdirSync(join(root, "logs"));
    reportingPort = await freePort();
    silentPort = await freePort();
    writeFileSync(join(root, "nginx.conf"), nginxProxyConf(root, { reporting: reportingPort, silent: silentPort, upstream: nms.httpPort }));
    nginx = spawn(NGINX, ["-p", root, "-c", join(root, "nginx.conf")], { stdio: ["ignore", "ignore", "pipe"] });
    nginx.stderr!.resume();
    // Through nginx to NMS: an unknown stream answers 404 from NMS itself.
    await waitFor("nginx to listen", async () => {
      const reporting = await fetch(`http://127.0.0.1:${reportingPort}/nothing`).catch(() => null);
      const silent = await fetch(`http://127.0.0.1:${silentPort}/nothing`).catch(() => null);
      return reporting !== null && silent !== null ? true : undefined;
    });
  });

  afterEach(async () => {
    for (const viewer of viewers.splice(0)) viewer.stop();
    await Promise.all(children.splice(0).map((c) => stopProcess(c)));
  });

  after(async () => {
    await stopNginx(nginx);
    await nms?.stop();
    if (root !== undefined) rmSync(root, { recursive: true, force: true });
  });

  /** An ffmpeg HTTP-FLV publisher (POST) of a moving test pattern, as the client at `clientIp` behind nginx. */
  const publishThrough = (port: number, name: string, clientIp?: string) => {
    const headers = clientIp === undefined ? [] : ["-headers", `X-Test-Client: ${clientIp}\r\n`];
    const child = spawn(
      "ffmpeg",
      [
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-re",
        ...testPatternInputs("320x240", false),
        ...testPatternEncoding({ zerolatency: true, audio: false }),
        "-f",
        "flv",
        "-method",
        "POST",
        ...headers,
        `http://127.0.0.1:${port}/live/${name}.flv`,
      ],
      { stdio: ["ignore", "ignore", "ignore"] },
    );
    children.push(child);
    return child;
  };
  const watch = async (name: string) => {
    let bytes = 0;
    let status = 0;
    const req = http.get(`http://127.0.0.1:${nms.httpPort}/live/${name}.flv`, { agent: false }, (res) => {
      status = res.statusCode ?? 0;
      res.on("data", (chunk: Buffer) => (bytes += chunk.length));
    });
    req.on("error", () => undefined);
    await waitFor(`a viewer subscribed to /live/${name}`, () =>
      (Context.broadcasts.get(`/live/${name}`)?.subscribers.size ?? 0) > 0 ? true : undefined,
    );
    const viewer = { status: () => status, bytes: () => bytes, stop: () => req.destroy() };
    viewers.push(viewer);
    return viewer;
  };
  const decisionFor = (name: string) =>
    waitFor(`the publish decision for ${name}`, () => nms.logs.events("publish.decision").find((l) => l.channel === name));

  it("warns at start that a trusted proxy's address may publish", () => {
    const warnings = nms.logs.events("publish.trusted_proxy_allowed");
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.deep.include({ level: 40, overlaps: [{ proxy: "127.0.0.1/32", allowIps: "127.0.0.1/32" }] });
    expect(String(warnings[0]!.msg)).to.include("RTMP");
  });

  it("an anonymous HTTP-FLV publish from a client the proxy reports as 203.0.113.7 is refused: the waiting viewer gets none of it", async () => {
    const viewer = await watch("intruder");
    const intruder = publishThrough(reportingPort, "intruder", "203.0.113.7");
    expect(await decisionFor("intruder")).to.include({ verdict: "deny", reason: "not-allowed", protocol: "flv", ip: "203.0.113.7" });
    // NMS answered 403 and cut its side; nginx drains what ffmpeg still sends (ffmpeg reads the answer
    // only when its POST ends). Two seconds of a 25 fps publisher would have reached the viewer by now.
    await sleep(2000);
    expect(intruder.exitCode, "the publisher kept sending all along").to.equal(null);
    expect(viewer.status(), "the viewer was admitted").to.equal(200);
    expect(viewer.bytes(), "bytes to the viewer: NMS's FLV header only, none of the publisher's").to.equal(FLV_HEADER_BYTES);
    expect(Context.broadcasts.get("/live/intruder")?.publisher ?? null).to.equal(null);
  });

  it("a publish through a trusted proxy that reports no address is refused (never judged as the proxy's loopback)", async () => {
    const viewer = await watch("unreported");
    publishThrough(silentPort, "unreported");
    expect(await decisionFor("unreported")).to.include({ verdict: "deny", reason: "not-allowed", protocol: "flv", ip: "" });
    await sleep(2000);
    expect(viewer.bytes(), "bytes to the viewer: the FLV header only").to.equal(FLV_HEADER_BYTES);
  });

  it("a publish whose proxy-reported address is on publish.allowIps passes and reaches the viewer", async () => {
    const viewer = await watch("allowed");
    publishThrough(reportingPort, "allowed", "198.51.100.9");
    expect(await decisionFor("allowed")).to.include({ verdict: "allow", reason: "allowed-address", protocol: "flv", ip: "198.51.100.9" });
    await waitFor("media at the viewer", () => (viewer.bytes() > 50_000 ? true : undefined), 30000);
  });

  it("warns again when a reload keeps the overlap", () => {
    nms.auth.reload(config);
    expect(nms.logs.events("publish.trusted_proxy_allowed")).to.have.length(2);
    nms.auth.reload({ ...config, auth: { ...config.auth, trustedProxies: ["192.0.2.10/32"] } });
    expect(nms.logs.events("publish.trusted_proxy_allowed")).to.have.length(2);
  });
});
