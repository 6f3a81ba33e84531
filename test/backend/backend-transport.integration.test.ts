import { expect } from "chai";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import https from "node:https";
import net, { type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, Dispatcher } from "undici";
import { freePort } from "../helpers/free-port.js";
import { authRequest } from "../helpers/viewer-request.js";
import { backendStep, type BackendStepHarness } from "../helpers/backend-step.js";
import { answer, startStubBackend, type StubBackend } from "../helpers/stub-backend.js";

/** A TCP server that accepts and then either says nothing (hang) or resets the connection. */
async function rawServer(behaviour: "hang" | "reset"): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    if (behaviour === "reset") socket.once("data", () => socket.resetAndDestroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

const hasOpenssl = spawnSync("openssl", ["version"], { stdio: "ignore" }).status === 0;

describe("backend transport: pool, timeouts and an unreachable backend", () => {
  let harness: BackendStepHarness | undefined;
  afterEach(async () => {
    await harness?.step.close?.();
    harness = undefined;
  });

  describe("unreachable → the default action, logged at error level every time", () => {
    it("a hanging backend gives the default action within timeoutMs", async () => {
      const hang = await rawServer("hang");
      try {
        harness = backendStep({
          type: "http-request",
          url: `http://127.0.0.1:${hang.port}/check?site=1`,
          timeoutMs: 300,
          onUnreachable: "deny",
        });
        const started = Date.now();
        const verdict = await harness.step.decide(authRequest({ query: "token=s3cr3t-value" }));
        const took = Date.now() - started;
        expect(verdict).to.deep.equal({ verdict: "deny", reason: "backend unreachable (timeout); default action deny" });
        expect(took).to.be.within(280, 1000);
        const [line] = harness.logs.events("backend.unreachable");
        expect(line).to.include({ level: 50, backend: `http://127.0.0.1:${hang.port}/check`, cause: "timeout", action: "deny" });
        expect(line!.error).to.equal(
          `auth backend http://127.0.0.1:${hang.port}/check unreachable (timeout): no answer within 300ms (auth.backend.timeoutMs)`,
        );
        expect(harness.logs.raw.join("\n")).to.not.include("s3cr3t-value");
      } finally {
        await hang.close();
      }
    });

    // No test dials a non-loopback "black hole" address: tests send traffic to loopback only.
    // The connect timeout shares its code path with the total timeout tested above.

    it("a refused port gives the default action (allow here) at once, and logs every check", async () => {
      const port = await freePort();
      harness = backendStep({ type: "http-request", url: `http://127.0.0.1:${port}/`, onUnreachable: "allow", allowTtlSec: 10 });
      const started = Date.now();
      const verdict = await harness.step.decide(authRequest());
      expect(Date.now() - started).to.be.lessThan(500);
      expect(verdict).to.deep.equal({ verdict: "allow", reason: "backend unreachable (refused); default action allow", ttlSec: 10 });
      await harness.step.decide(authRequest());
      const lines = harness.logs.events("backend.unreachable");
      expect(lines).to.have.length(2);
      expect(lines[1]).to.include({ level: 50, cause: "refused", action: "allow", backend: `http://127.0.0.1:${port}/` });
      expect(lines[1]!.msg).to.equal("auth backend unreachable (refused); default action allow");
    });

    it("a DNS failure is unreachable (cause dns)", async () => {
      harness = backendStep({ type: "http-request", url: "http://nonexistent-host.invalid/check" });
      expect((await harness.step.decide(authRequest())).verdict).to.equal("deny");
      expect(harness.logs.events("backend.unreachable")[0]).to.include({ cause: "dns", backend: "http://nonexistent-host.invalid/check" });
    });

    it("a connection reset is unreachable (cause reset)", async () => {
      const reset = await rawServer("reset");
      try {
        harness = backendStep({ type: "http-request", url: `http://127.0.0.1:${reset.port}/`, onUnreachable: "deny" });
        expect((await harness.step.decide(authRequest())).verdict).to.equal("deny");
        expect(harness.logs.events("backend.unreachable")[0]).to.include({ cause: "reset" });
      } finally {
        await reset.close();
      }
    });

    it("an answer that is not HTTP at all denies as an unreadable answer (backend.error_answer), not as an unknown failure", async () => {
      const server = net.createServer((socket) => socket.on("data", () => socket.end("\x00\x17not HTTP\xff\r\n\r\n")));
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      try {
        harness = backendStep({
          type: "http-request",
          url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
          onUnreachable: "allow",
        });
        const decision = await harness.step.decide(authRequest());
        expect(decision).to.include({ verdict: "deny" });
        expect((decision as { reason: string }).reason).to.include("unreadable HTTP answer (not HTTP)");
        expect(harness.logs.events("backend.error_answer")).to.have.length(1);
        expect(harness.logs.events("backend.call_failed")).to.have.length(0);
      } finally {
        await new Promise((r) => server.close(r));
      }
    });

    it("a call the pool never starts still ends at timeoutMs (undici settles a queued aborted call only when a connection takes it)", async () => {
      // An injected dispatcher that takes the request and never gives it a connection: a pool whose every
      // connection is held by a backend that trickles its answers.
      class NeverConnects extends Dispatcher {
        override dispatch(): boolean {
          return true;
        }
        override async close(): Promise<void> {}
        override async destroy(): Promise<void> {}
      }
      harness = backendStep(
        { type: "http-request", url: "http://127.0.0.1:9/", onUnreachable: "allow", timeoutMs: 300 },
        { dispatcher: new NeverConnects() },
      );
      const startedAt = Date.now();
      const decision = await harness.step.decide(authRequest());
      expect(decision).to.include({ verdict: "allow" });
      expect(Date.now() - startedAt).to.be.below(300 + 5000);
      expect(harness.logs.events("backend.unreachable")[0]).to.include({ cause: "timeout" });
    });

    it("concurrent checks while the backend is down share one attempt, and each is logged", async () => {
      const port = await freePort();
      harness = backendStep({ type: "http-request", url: `http://127.0.0.1:${port}/` });
      await Promise.all(Array.from({ length: 20 }, () => harness!.step.decide(authRequest())));
      expect(harness.logs.events("backend.unreachable")).to.have.length(20);
    });
  });

  describe("keep-alive pool", () => {
    let stub: StubBackend;
    before(async () => (stub = await startStubBackend()));
    after(async () => stub.close());

    it("reuses connections, and never opens more than `connections` at once", async () => {
      harness = backendStep({ type: "http-request", url: `${stub.base}/`, connections: 2, denyTtlSec: 0 });
      stub.respond = (req, res) => setTimeout(() => answer(403)(req, res), 30);
      for (let i = 0; i < 5; i++) await harness.step.decide(authRequest({ query: `token=seq${i}` }));
      expect(stub.connections, "5 sequential calls ride the pool's kept-alive connections").to.be.within(1, 2);
      await Promise.all(Array.from({ length: 12 }, (_, i) => harness!.step.decide(authRequest({ query: `token=par${i}` }))));
      expect(stub.calls).to.have.length(17);
      expect(stub.maxOpenConnections).to.equal(2);
    });
  });

  describe("https backends", () => {
    let dir: string;
    let server: https.Server;
    let port: number;

    before(async function () {
      if (!hasOpenssl) this.skip();
      dir = mkdtempSync(join(tmpdir(), "va-tls-"));
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-days",
          "1",
          "-subj",
          "/CN=127.0.0.1",
          "-addext",
          "subjectAltName=IP:127.0.0.1",
          "-keyout",
          join(dir, "key.pem"),
          "-out",
          join(dir, "cert.pem"),
        ],
        { stdio: "ignore" },
      );
      server = https.createServer({ key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) }, (req, res) => {
        res.writeHead(req.url?.includes("token=123") ? 200 : 403, { "Content-Length": "0", "X-Session-Name": "tls-user" });
        res.end();
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      port = (server.address() as AddressInfo).port;
    });

    after(async () => {
      server?.closeAllConnections();
      if (server) await new Promise((r) => server.close(r));
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("a self-signed backend works when its certificate is given as caFile", async () => {
      harness = backendStep({ type: "http-request", url: `https://127.0.0.1:${port}/auth`, caFile: join(dir, "cert.pem") });
      expect(await harness.step.decide(authRequest())).to.deep.equal({
        verdict: "allow",
        reason: "backend answered 200",
        user: { name: "tls-user" },
        ttlSec: 30,
      });
      expect((await harness.step.decide(authRequest({ query: "token=124" }))).verdict).to.equal("deny");
    });

    it("an injected undici dispatcher (the edge is injected, never mocked) replaces the built-in pool", async () => {
      const agent = new Agent({ connect: { ca: readFileSync(join(dir, "cert.pem"), "utf8") } });
      try {
        harness = backendStep({ type: "http-request", url: `https://127.0.0.1:${port}/auth` }, { dispatcher: agent });
        expect((await harness.step.decide(authRequest())).verdict).to.equal("allow");
        await harness.step.close?.();
        harness = undefined;
        expect(agent.destroyed, "the owner closes its own dispatcher").to.equal(false);
      } finally {
        await agent.close();
      }
    });

    it("without caFile the self-signed certificate is refused (cause tls → default action)", async () => {
      harness = backendStep({ type: "http-request", url: `https://127.0.0.1:${port}/auth`, onUnreachable: "deny" });
      expect((await harness.step.decide(authRequest())).verdict).to.equal("deny");
      expect(harness.logs.events("backend.unreachable")[0]).to.include({ cause: "tls" });
    });
  });
});
