import { expect } from "chai";
import { readFileSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { envOverrides, loadServerConfig } from "../../server/src/env-overrides.js";
import type { ServerConfig } from "../../server/src/server-config-schema.js";

const DIR = "samples/many-core";
const UNIT = "samples/systemd/nms-viewer-auth@.service";

/** A systemd EnvironmentFile's KEY=VALUE lines (comments and blank lines skipped). */
function readEnvFile(file: string): Record<string, string> {
  const lines = readFileSync(join(DIR, file), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"));
  return Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
}

/** An instance's configuration as the templated unit starts it: common.env, then `<instance>.env`, over VA_CONFIG's file. */
function instanceConfig(instance: string): ServerConfig {
  const env = { ...readEnvFile("common.env"), ...readEnvFile(`${instance}.env`) };
  const file = join(DIR, basename(env.VA_CONFIG!)); // /etc/nms-viewer-auth/<file> in the unit
  const { overrides, issues } = envOverrides(env);
  expect(issues, instance).to.deep.equal([]);
  return loadServerConfig(file, overrides);
}

describe("samples/many-core: an origin, edges and nginx on one host, as the templated unit starts them", () => {
  const edgeInstances = readdirSync(DIR)
    .filter((f) => /^edge-\d+\.env$/.test(f))
    .map((f) => f.replace(/\.env$/, ""));
  const origin = instanceConfig("origin");
  const edges = edgeInstances.map(instanceConfig);

  it("every instance's configuration is valid; the edges differ in id, ports and data directory only", () => {
    expect(edges).to.have.length.of.at.least(2);
    expect(edges.map((e) => e.cluster?.nodeId)).to.deep.equal(edgeInstances);
    for (const pick of [(e: ServerConfig) => e.server.rtmpPort, (e: ServerConfig) => e.server.httpPort, (e: ServerConfig) => e.api.port]) {
      const all = [origin, ...edges].map(pick);
      expect(new Set(all).size, String(all)).to.equal(all.length);
    }
    expect(new Set([origin, ...edges].map((e) => e.server.dataDir)).size).to.equal(edges.length + 1);
    const same = (e: ServerConfig) =>
      JSON.stringify(
        {
          ...e,
          server: { ...e.server, rtmpPort: 0, httpPort: 0, dataDir: "" },
          api: { ...e.api, port: 0 },
          cluster: { ...e.cluster, nodeId: "" },
        },
        (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value),
      ); // address ranges hold bigints
    for (const edge of edges) expect(same(edge)).to.equal(same(edges[0]!));
  });

  it("the edges pull the origin's channels over loopback RTMP with the origin's pull token, and remux them", () => {
    const pullTokens = origin.auth.users.flatMap((u) => u.tokens ?? []);
    expect(origin.server.bind).to.equal("127.0.0.1");
    expect(origin.cluster).to.equal(null);
    for (const edge of edges) {
      expect(edge.channels.map((c) => c.id)).to.deep.equal(origin.channels.map((c) => c.id));
      for (const channel of edge.channels) {
        expect(channel.transcode.mode).to.equal("copy");
        expect(channel.source.type).to.equal("rtmp");
        const url = new URL((channel.source as { url: string }).url);
        expect([url.hostname, Number(url.port), url.pathname]).to.deep.equal([
          "127.0.0.1",
          origin.server.rtmpPort,
          `/${channel.app}/${channel.id}`,
        ]);
        expect(pullTokens).to.include(url.searchParams.get("token"));
        const originChannel = origin.channels.find((c) => c.id === channel.id)!;
        expect(channel.hls.segmentSec, "a copy cuts only at the origin's keyframes").to.equal(originChannel.hls.segmentSec);
      }
      expect(edge.server.bind).to.equal("127.0.0.1");
      expect(edge.auth.trustedProxies.map((r) => r.text)).to.deep.equal(["127.0.0.1/32"]);
    }
  });

  it("nginx's upstream is the edges' HTTP ports, hashed by the viewer's address, with X-Forwarded-For set to it", () => {
    const conf = readFileSync(join(DIR, "nginx.conf"), "utf8");
    const upstream = /upstream edges \{([^}]*)\}/.exec(conf)![1]!;
    expect(upstream).to.match(/^\s*hash \$remote_addr consistent;/m);
    const ports = [...upstream.matchAll(/^\s*server 127\.0\.0\.1:(\d+)/gm)].map((m) => Number(m[1]));
    expect(ports).to.deep.equal(edges.map((e) => e.server.httpPort));
    expect(conf).to.match(/^\s*proxy_set_header X-Forwarded-For \$remote_addr;/m);
    expect(conf).to.match(/^\s*proxy_pass http:\/\/edges;/m);
  });

  it("the templated unit reads common.env and the instance's .env, starts VA_CONFIG's file and writes only the instance's directory", () => {
    const unit = readFileSync(UNIT, "utf8");
    const values = (key: string) =>
      unit
        .split("\n")
        .filter((l) => l.startsWith(`${key}=`))
        .map((l) => l.slice(key.length + 1));
    expect(values("EnvironmentFile")).to.deep.equal(["/etc/nms-viewer-auth/common.env", "/etc/nms-viewer-auth/%i.env"]);
    expect(values("ExecStart")).to.deep.equal(["/usr/local/bin/nms-viewer-auth"]);
    expect(values("StateDirectory")).to.deep.equal(["nms-viewer-auth/%i"]);
    expect(values("WorkingDirectory")).to.deep.equal(["/var/lib/nms-viewer-auth/%i"]);
    expect(values("DynamicUser")).to.deep.equal([]);
    for (const instance of ["origin", ...edgeInstances])
      expect(readEnvFile(`${instance}.env`).VA_DATA_DIR).to.equal(`/var/lib/nms-viewer-auth/${instance}`);
    // The single unit's behaviour on stop and restart, unchanged.
    expect(values("KillMode")).to.deep.equal(["mixed"]);
    expect(values("Restart")).to.deep.equal(["on-failure"]);
    expect(values("ProtectSystem")).to.deep.equal(["strict"]);
  });
});
