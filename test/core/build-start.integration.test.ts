import { expect } from "chai";
import { waitUntil } from "../helpers/wait-for.js";
import { existsSync, mkdirSync, readlinkSync, watch, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, get, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import NodeMediaServer from "node-media-server";
import { systemClock } from "../../plugin/src/core/clock.js";
import type { EndReason, ViewerSession } from "../../plugin/src/core/viewer-session.js";
import type { SessionStart } from "../../plugin/src/core/session-store.js";
import { MemorySessionStore } from "../../plugin/src/sessions/memory-session-store.js";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import { pluginConfigSchema, type PluginConfig, type PluginConfigInput } from "../../plugin/src/plugin-config-schema.js";
import { buildViewerAuth } from "../../plugin/src/viewer-auth.js";
import { attachViewerAuth } from "../../plugin/src/index.js";
import { createNms4Host } from "../../plugin/src/hosts/nms4/nms4-host.js";
import { buildServer } from "../../server/src/build-server.js";
import { serverConfigSchema } from "../../server/src/server-config-schema.js";
import { testChannel } from "../helpers/test-channel.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";
import { startRedis, type RedisServer } from "../helpers/redis-server.js";
import { startStubBackend, type StubBackend } from "../helpers/stub-backend.js";
import { waitFor } from "../helpers/wait-for.js";

/** What the process holds open: libuv handles and requests by kind, SIGHUP listeners and file descriptors. */
function openResources(): { resources: string[]; sighup: number; fds: string[] } {
  return {
    resources: [...process.getActiveResourcesInfo()].filter((r) => r !== "TTYWrap").sort(),
    sighup: process.listenerCount("SIGHUP"),
    // Each descriptor with what it points at: one closed and reused for something else counts as new.
    fds: readdirSync("/proc/self/fd").flatMap((fd) => {
      try {
        return [`${fd} ${readlinkSync(`/proc/self/fd/${fd}`)}`];
      } catch {
        return []; // the directory's own descriptor, closed by now
      }
    }),
  };
}

/**
 * The baseline, taken after one turn of the loop: mocha arms a test's timeout timer only once the
 * test function's synchronous part has returned.
 */
async function baselineResources(): Promise<ReturnType<typeof openResources>> {
  // libuv makes one inotify descriptor per loop at the first fs.watch and keeps it for the loop's life:
  // a watcher made and closed before the baseline puts it there, so only our own descriptors are counted.
  watch(tmpdir()).close();
  await new Promise((resolve) => setImmediate(resolve));
  return openResources();
}

/** Resources in `after` that `before` did not hold, by kind (a count per kind). */
function added(before: string[], after: string[]): string[] {
  const left = [...before];
  return after.filter((r) => {
    const i = left.indexOf(r);
    if (i === -1) return true;
    left.splice(i, 1);
    return false;
  });
}

describe("building viewer authorization opens nothing; start opens, detach closes", function () {
  this.timeout(60_000);
  let dir: string;
  let redis: RedisServer;
  let backend: StubBackend;

  before(async () => {
    redis = await startRedis();
    backend = await startStubBackend();
  });
  after(async () => {
    await backend.close();
    await redis.stop();
  });
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "va-build-start-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Every part that opens something: users file, statistics, HLS (edge keys), backend, JWKS, geo databases, API with token file, console, cluster, webhook outbox. */
  function fullConfig(): PluginConfig {
    const usersFile = join(dir, "users.yaml");
    writeFileSync(usersFile, "users:\n  - login: alice\n    tokens: [build-start-test-token-0123456789]\n    packages: ['*']\n");
    mkdirSync(join(dir, "hls", "live", "ch1"), { recursive: true });
    const input: PluginConfigInput = {
      log: { level: "silent", nmsLevel: "error" },
      auth: {
        usersFile,
        backend: { type: "http-request", url: `${backend.base}/` },
        // The JWT step fetches its key set and the geo step reads and watches its databases at start.
        jwt: { jwksUrl: `${backend.base}/jwks.json`, secrets: ["build-start-jwt-secret-0123456789abcdef"] },
        geo: { countryDatabase: "node_modules/@ip-location-db/geolite2-country-mmdb/geolite2-country.mmdb", denyCountries: ["KP"] },
        originLock: { allow: ["example.com"] },
      },
      hls: { dir: join(dir, "hls"), edge: { baseUrl: "https://edge.example.com", secret: "build-start-edge-secret-0123" } },
      stats: { file: join(dir, "data", "stats.sqlite") },
      api: { enabled: true, port: 0, tokenFile: join(dir, "data", "api-token") },
      cluster: { redis: redis.url, nodeId: "edge-build-start", heartbeatMs: 200, timeoutMs: 500 },
      // The outbox goes beside stats.file; the receiver (the backend stub) answers whatever it answers.
      events: { webhooks: [{ url: `${backend.base}/hook`, secret: "build-start-webhook-secret-0123" }] },
    };
    return parseConfig(pluginConfigSchema, input) as PluginConfig;
  }

  it("on a full configuration: no handle, timer, socket, SIGHUP listener or file descriptor is new after build and attach; detach after start gives every one back", async () => {
    const config = fullConfig();
    const logs = createCapturingLogger();
    const nms = new NodeMediaServer({ bind: "127.0.0.1", rtmp: { port: "0" }, http: { port: "0" }, store: { path: join(dir, "store") } });
    const host = createNms4Host(nms);
    const baseline = await baselineResources();

    const auth = buildViewerAuth(config, { logger: logs.logger });
    let now = openResources();
    expect(added(baseline.resources, now.resources), "resources after build").to.deep.equal([]);
    expect(now.sighup, "SIGHUP listeners after build").to.equal(baseline.sighup);
    expect(added(baseline.fds, now.fds), "file descriptors after build").to.deep.equal([]);
    expect(existsSync(join(dir, "data")), "nothing written at build (token file, ledger)").to.equal(false);
    expect(auth.config.api.token, "the token is known at build").to.be.a("string");

    auth.attach(host);
    now = openResources();
    expect(added(baseline.resources, now.resources), "resources after attach").to.deep.equal([]);
    expect(now.sighup, "SIGHUP listeners after attach").to.equal(baseline.sighup);
    expect(added(baseline.fds, now.fds), "file descriptors after attach").to.deep.equal([]);

    // What start opens is counted against the resources just before it: an unrelated timer of the test
    // process that ends meanwhile (a busy machine delays them) must not hide one the plugin opened.
    const beforeStart = openResources();
    await auth.start();
    try {
      const expected = ["Timeout", "TCPServerWrap", "TCPSocketWrap"];
      let opened: string[] = [];
      await waitUntil(
        "the plugin's timers, listener and Redis link among the open resources",
        () => {
          now = openResources();
          opened = added(beforeStart.resources, now.resources);
          return expected.every((kind) => opened.includes(kind));
        },
        5000,
        50,
      ).catch(() => undefined);
      expect(opened, "the flush, purge, sweep and history timers, the API's listener, the Redis link").to.include.members(expected);
      expect(now.sighup, "the users file's SIGHUP listener").to.equal(baseline.sighup + 1);
      expect(added(baseline.fds, now.fds).join("\n"), "the ledger, the watcher, the sockets")
        .to.include("stats.sqlite")
        .and.to.include("webhook-outbox.sqlite")
        .and.to.include("socket:");
      expect(readFileSync(config.api.tokenFile!, "utf8").trim(), "start writes the token the API was built with").to.equal(
        auth.config.api.token,
      );
      expect(existsSync(config.stats.file!)).to.equal(true);
      await waitFor("the edge to join the cluster", () => (auth.cluster?.status().redis === "up" ? true : undefined), 10_000);
    } finally {
      await auth.detach();
    }
    // Closed sockets and handles are released on the next turns of the loop.
    await waitFor(
      "every resource to be released",
      () => {
        const end = openResources();
        return added(baseline.resources, end.resources).length === 0 && added(baseline.fds, end.fds).length === 0 ? end : undefined;
      },
      10_000,
    ).catch(() => undefined);
    const end = openResources();
    expect(added(baseline.resources, end.resources), "resources after detach").to.deep.equal([]);
    expect(end.sighup, "SIGHUP listeners after detach").to.equal(baseline.sighup);
    expect(added(baseline.fds, end.fds), "file descriptors after detach").to.deep.equal([]);
  });

  it("a built but never started part is closed by detach without opening anything", async () => {
    const config = fullConfig();
    const baseline = await baselineResources();
    const auth = buildViewerAuth(config, { logger: createCapturingLogger().logger });
    await auth.detach();
    const end = openResources();
    expect(added(baseline.resources, end.resources)).to.deep.equal([]);
    expect(end.sighup).to.equal(baseline.sighup);
    expect(added(baseline.fds, end.fds)).to.deep.equal([]);
    expect(existsSync(join(dir, "data"))).to.equal(false);
  });
});

describe("attachViewerAuth when start cannot open a file", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "va-attach-start-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("throws at once, as when the ledger opened at build, and leaves no watcher, SIGHUP listener or timer behind", async () => {
    const usersFile = join(dir, "users.yaml");
    writeFileSync(usersFile, "users:\n  - login: alice\n    tokens: [build-start-test-token-0123456789]\n    packages: ['*']\n");
    writeFileSync(join(dir, "not-a-folder"), "");
    const nms = new NodeMediaServer({ bind: "127.0.0.1", rtmp: { port: "0" }, http: { port: "0" }, store: { path: join(dir, "store") } });
    const baseline = await baselineResources();
    // The ledger's folder is a file: start fails on it, before the users file watcher and the timers open.
    const config = { log: { level: "silent" as const }, auth: { usersFile }, stats: { file: join(dir, "not-a-folder", "stats.sqlite") } };
    expect(() => attachViewerAuth(nms, config, { logger: createCapturingLogger().logger })).to.throw(/EEXIST|ENOTDIR/);
    // A few turns of the loop and a timer tick: one-shot callbacks queued by the failure (or by anything else
    // in this process) run out; a timer, watcher or repeating callback left behind would still be listed.
    for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 0));
    const end = openResources();
    expect(added(baseline.resources, end.resources)).to.deep.equal([]);
    expect(end.sighup).to.equal(baseline.sighup);
    expect(added(baseline.fds, end.fds)).to.deep.equal([]);
    // The host is free again.
    await attachViewerAuth(nms, { log: { level: "silent" } }, { logger: createCapturingLogger().logger }).detach();
  });
});

/** A real store that also records what the gate asked of it. */
class RecordingStore extends MemorySessionStore {
  readonly calls: string[] = [];
  override open(start: SessionStart): ViewerSession {
    this.calls.push(`open ${start.app}/${start.channel}`);
    return super.open(start);
  }
  override end(session: ViewerSession, reason: EndReason, ...rest: unknown[]): void {
    this.calls.push(`end ${reason}`);
    (super.end as (...args: unknown[]) => void)(session, reason, ...rest);
  }
}

describe("an injected session store", () => {
  let dir: string;
  let server: Server | undefined;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "va-store-"))));
  afterEach(async () => {
    await new Promise((resolve) => (server === undefined ? resolve(undefined) : server.close(resolve)));
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it("is the store every part uses: the HLS gate opens and ends its sessions there", async () => {
    mkdirSync(join(dir, "live", "ch1"), { recursive: true });
    writeFileSync(join(dir, "live", "ch1", "index.m3u8"), "#EXTM3U\n");
    const logs = createCapturingLogger();
    const store = new RecordingStore(systemClock, logs.logger);
    const config = parseConfig(pluginConfigSchema, {
      log: { level: "silent" },
      auth: { defaultAction: "deny" },
      hls: { dir },
    }) as PluginConfig;
    const auth = buildViewerAuth(config, { logger: logs.logger, sessionStore: store });
    expect(auth.sessions).to.equal(store);
    await auth.start();
    try {
      const handler = auth.httpHandler!;
      server = createServer((req, res) => handler(req, res, () => res.writeHead(404).end()));
      await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
      const port = (server.address() as AddressInfo).port;
      const status = await new Promise<number>((resolve, reject) => {
        get(`http://127.0.0.1:${port}/live/ch1/index.m3u8`, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on("error", reject);
      });
      expect(status).to.equal(403);
      expect(store.calls).to.deep.equal(["open live/ch1", "end denied"]);
      expect(store.count()).to.equal(0);
    } finally {
      await auth.detach();
    }
  });
});

describe("the bundled server: build writes nothing and opens nothing", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "va-server-build-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("buildServer leaves the data directory unmade (API token file, ledger, NMS store) and holds no new handle or descriptor", async () => {
    const dataDir = join(dir, "data");
    const config = parseConfig(serverConfigSchema, {
      server: { bind: "127.0.0.1", rtmpPort: 0, httpPort: 0, dataDir },
      api: { enabled: true, port: 0, tokenFile: join(dataDir, "api-token") },
      channels: [testChannel("test")],
    });
    const baseline = await baselineResources();
    const server = buildServer(config, { logger: createCapturingLogger().logger });
    try {
      const now = openResources();
      expect(existsSync(dataDir), "the data directory").to.equal(false);
      expect(added(baseline.resources, now.resources), "resources after build").to.deep.equal([]);
      expect(now.sighup).to.equal(baseline.sighup);
      expect(added(baseline.fds, now.fds), "file descriptors after build").to.deep.equal([]);
      expect(server.auth.config.api.token, "the token the API and the redactor use").to.be.a("string");
    } finally {
      await server.auth.detach();
    }
  });
});
