import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import net, { type AddressInfo, type Socket } from "node:net";
import { join } from "node:path";
import { LocalProcesses, tcpEndpointsOf } from "../../plugin/src/net/process-proof.js";
import { startBundledServer, waitFor, type RunningServer } from "../helpers/bundled-server.js";
import { hasFfmpeg, playWithFfmpeg, stopProcess } from "../helpers/ffmpeg.js";
import { descendantsOf } from "../helpers/process-tree.js";
import { auditSecrets } from "../helpers/log-audit.js";
import { TEST_API_TOKEN } from "../helpers/api-tokens.js";

const API_TOKEN = TEST_API_TOKEN;
const USER_TOKEN = "viewer-token-internal-5a9c";
/** Credentials a command line must never carry: the old internal secret, NMS's publish sign, a token. */
const CREDENTIAL_IN_URL = /[?&](va_internal|sign|token|auth)=/;

describe("LocalProcesses: which process holds a loopback connection's client end (Linux /proc)", function () {
  this.timeout(30000);
  let server: net.Server;
  let port: number;
  const accepted: Socket[] = [];
  const children: ChildProcess[] = [];

  before(async function () {
    if (process.platform !== "linux") this.skip();
    server = net.createServer((socket) => accepted.push(socket));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    for (const socket of accepted) socket.destroy();
    await Promise.all(children.map((c) => stopProcess(c)));
    await new Promise((r) => server?.close(r));
  });

  /** The server end of the next connection. */
  const nextConnection = (count: number) => waitFor("the connection", () => (accepted.length >= count ? accepted[count - 1] : undefined));

  it("proves a registered child's connection, and only while it is registered; never our own or a stranger's", async () => {
    const child = spawn(process.execPath, ["-e", `require("net").connect(${port}, "127.0.0.1"); setInterval(() => {}, 1000)`], {
      stdio: "ignore",
    });
    children.push(child);
    const fromChild = tcpEndpointsOf(await nextConnection(1))!;
    const ownClient = net.connect(port, "127.0.0.1");
    const fromUs = tcpEndpointsOf(await nextConnection(2))!;

    const processes = new LocalProcesses();
    expect(processes.holdsClientEnd(fromChild), "empty set").to.equal(false);
    processes.add(child.pid!);
    expect(processes.holdsClientEnd(fromChild), "the child's connection").to.equal(true);
    expect(processes.holdsClientEnd(fromUs), "a connection the child does not hold").to.equal(false);
    // This process holds the server end of both: the proof is about the client end only.
    const us = new LocalProcesses();
    us.add(process.pid);
    expect(us.holdsClientEnd(fromChild), "the server end does not count").to.equal(false);
    expect(us.holdsClientEnd(fromUs), "our own client end").to.equal(true);
    processes.delete(child.pid!);
    expect(processes.holdsClientEnd(fromChild), "forgotten").to.equal(false);
    ownClient.destroy();
  });
});

describe("the bundled server's own ffmpeg children: let in by pid, no secret on any command line", function () {
  this.timeout(120000);
  let run: RunningServer;
  const strangers: ChildProcess[] = [];

  before(async function () {
    if (!hasFfmpeg || process.platform !== "linux") this.skip();
    auditSecrets(API_TOKEN, USER_TOKEN);
    run = await startBundledServer({
      api: { enabled: true, port: 0, token: API_TOKEN },
      auth: { users: [{ login: "viewer", tokens: [USER_TOKEN], packages: ["*"] }] },
      // The default publish.allowIps (loopback) is not used by the bundled server: only its own ingest publishes.
    });
    await waitFor("the channel up", () => (run.server.channelStatus()[0]?.state === "up" ? true : undefined), 60000);
  });
  after(async () => {
    await Promise.all(strangers.map((c) => stopProcess(c)));
    await run?.stop();
  });

  it("no command line of the server process or its children carries a credential; the children's URLs have no query at all", () => {
    const pids = [process.pid, ...descendantsOf(process.pid)];
    const lines = pids.flatMap((pid) => {
      try {
        return [{ pid, line: readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ") }];
      } catch {
        return []; // ended while we looked
      }
    });
    const rtmpUrls = lines.flatMap((l) => l.line.match(/rtmp:\/\/\S+/g) ?? []);
    const channel = run.server.channelStatus()[0]!;
    expect(
      lines.map((l) => l.pid),
      "the ingest and the packager are among the processes looked at",
    ).to.include.members([channel.ingest.pid, channel.packager.pid]);
    // The ingest's and the packager's (each also named by the small shell that watches it: its lifeline).
    expect(rtmpUrls.length, "the ingest's and the packager's URLs").to.be.at.least(2);
    expect(new Set(rtmpUrls), "every RTMP URL on a command line").to.deep.equal(new Set([`${run.rtmpBase}/live/test`]));
    for (const { pid, line } of lines) {
      expect(line, `/proc/${pid}/cmdline`).to.not.match(CREDENTIAL_IN_URL);
      expect(line, `/proc/${pid}/cmdline`).to.not.include(API_TOKEN).and.not.include(USER_TOKEN);
    }
  });

  it("no world-readable file the server wrote holds a credential", () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.isFile()) files.push(path);
      }
    };
    walk(run.dataDir);
    const readable = files.filter((f) => {
      try {
        return (statSync(f).mode & 0o004) !== 0;
      } catch {
        return false; // a segment deleted meanwhile
      }
    });
    expect(readable.length, "the server wrote files (playlists, segments)").to.be.greaterThan(0);
    for (const file of readable) {
      let text: string;
      try {
        text = readFileSync(file, "latin1");
      } catch {
        continue;
      }
      expect(text, file).to.not.match(CREDENTIAL_IN_URL);
      expect(text, file).to.not.include(API_TOKEN).and.not.include(USER_TOKEN);
    }
  });

  it("the packager plays and the ingest publishes as proven processes: decided by the internal step, no viewer session for them", () => {
    const plays = run.logs.events("auth.decision").filter((l) => l.protocol === "rtmp");
    expect(plays.length, "the packager's play was decided").to.be.greaterThan(0);
    for (const play of plays) expect(play).to.include({ step: "internal", verdict: "allow", ip: "127.0.0.1", channel: "test" });
    for (const decision of run.logs.events("publish.decision"))
      expect(decision).to.include({ verdict: "allow", reason: "internal", protocol: "rtmp" });
    expect(
      run.server.auth.sessions.list().filter((s) => s.protocol === "rtmp"),
      "the server's own packager is not a viewer",
    ).to.deep.equal([]);
  });

  it("a local ffmpeg that is not one of the children is refused to play over loopback RTMP, with the old va_internal parameter or without", async () => {
    const before = run.logs.events("auth.decision").length;
    const [withOld, without] = await Promise.all([
      playWithFfmpeg(`${run.rtmpBase}/live/test?va_internal=guessed-or-stolen`, { seconds: 3 }),
      playWithFfmpeg(`${run.rtmpBase}/live/test`, { seconds: 3 }),
    ]);
    expect(withOld.stdoutBytes, "media to the stranger with va_internal").to.equal(0);
    expect(without.stdoutBytes, "media to the stranger without credentials").to.equal(0);
    const decisions = run.logs
      .events("auth.decision")
      .slice(before)
      .filter((l) => l.protocol === "rtmp");
    expect(decisions).to.have.length(2);
    for (const decision of decisions) expect(decision).to.include({ verdict: "deny", step: "default", ip: "127.0.0.1" });
  });

  it("a local ffmpeg that is not one of the children is refused to publish over loopback RTMP, with the old va_internal parameter or without", async () => {
    const publishTo = (url: string) => {
      const child = spawn(
        "ffmpeg",
        [
          "-hide_banner",
          "-nostdin",
          "-loglevel",
          "error",
          "-re",
          "-f",
          "lavfi",
          "-i",
          "testsrc2=size=160x120:rate=15",
          "-c:v",
          "libx264",
          "-preset",
          "ultrafast",
          "-g",
          "15",
          "-pix_fmt",
          "yuv420p",
          "-f",
          "flv",
          url,
        ],
        { stdio: "ignore" },
      );
      strangers.push(child);
      return child;
    };
    publishTo(`${run.rtmpBase}/live/stranger1?va_internal=guessed-or-stolen`);
    publishTo(`${run.rtmpBase}/live/stranger2`);
    for (const channel of ["stranger1", "stranger2"]) {
      const decision = await waitFor(`the decision for ${channel}`, () =>
        run.logs.events("publish.decision").find((l) => l.channel === channel),
      );
      expect(decision).to.include({ verdict: "deny", reason: "not-allowed", protocol: "rtmp", ip: "127.0.0.1" });
    }
  });

  it("an authorised viewer still gets the channel's HLS", async () => {
    // The master playlist names the media playlist, which names the segments (each URI keyed by the gate).
    let url = new URL(`${run.httpBase}/live/test/index.m3u8?token=${USER_TOKEN}`);
    for (let depth = 0; depth < 3; depth++) {
      const response = await fetch(url);
      expect(response.status, url.pathname).to.equal(200);
      const body = Buffer.from(await response.arrayBuffer());
      if (!body.subarray(0, 7).equals(Buffer.from("#EXTM3U"))) {
        expect(body.length, "a media segment's bytes").to.be.greaterThan(1000);
        return;
      }
      const next = body
        .toString("utf8")
        .split("\n")
        .find((l) => l !== "" && !l.startsWith("#"));
      expect(next, body.toString("utf8")).to.be.a("string");
      url = new URL(next!, url);
    }
    expect.fail("no segment reached within three playlists");
  });
});
