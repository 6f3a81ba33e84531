import { expect } from "chai";
import { buildChain } from "../../plugin/src/build-chain.js";
import { systemClock } from "../../plugin/src/core/clock.js";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import { pluginConfigSchema, type PluginConfig } from "../../plugin/src/plugin-config-schema.js";
import { guarded } from "../../plugin/src/core/guarded.js";
import { HlsSessionKeys } from "../../plugin/src/hls/hls-session-keys.js";
import { LogRateLimit } from "../../plugin/src/core/log-rate-limit.js";
import { PluginMetrics } from "../../plugin/src/metrics/plugin-metrics.js";
import { SessionRechecker } from "../../plugin/src/sessions/session-rechecker.js";
import { MemorySessionStore } from "../../plugin/src/sessions/memory-session-store.js";
import { authRequest } from "../helpers/auth-requests.js";
import { waitFor } from "../helpers/wait-for.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";
import { ManualClock } from "../helpers/manual-clock.js";

describe("guarded callbacks: nothing a timer or listener throws leaves the plugin", () => {
  it("guarded logs a synchronous throw and an async rejection as the given event, and returns normally", async () => {
    const logs = createCapturingLogger();
    const sync = guarded(logs.logger, "test.sync_failed", function throwsNow(n: number) {
      throw new Error(`sync ${n}`);
    });
    expect(() => sync(1)).to.not.throw();
    const rejected = guarded(logs.logger, "test.async_failed", async function rejectsLater() {
      throw new Error("async");
    });
    expect(rejected()).to.equal(undefined);
    await waitFor("the rejection to be logged", () => logs.events("test.async_failed")[0], 2000);
    expect(logs.events("test.sync_failed")[0]).to.deep.include({ level: 50, callback: "throwsNow" });
    expect((logs.events("test.sync_failed")[0]!.err as { message: string }).message).to.equal("sync 1");
    expect(logs.events("test.async_failed")[0]).to.include({ callback: "rejectsLater" });
    let ran = 0;
    guarded(logs.logger, "test.never", (a: number, b: number) => (ran = a + b))(2, 3);
    expect(ran).to.equal(5);
    expect(logs.events("test.never")).to.have.length(0);
  });

  it("LogRateLimit: the first occurrence, then one per interval carrying the held-back count; reset starts over", () => {
    const clock = new ManualClock(0);
    const limit = new LogRateLimit(clock, 60_000);
    expect(limit.hit()).to.equal(1);
    expect([limit.hit(), limit.hit(), limit.hit()]).to.deep.equal([0, 0, 0]);
    clock.advance(60_000);
    expect(limit.hit()).to.equal(4);
    expect(limit.hit()).to.equal(0);
    expect(limit.reset()).to.equal(1);
    expect(limit.hit()).to.equal(1);
  });

  it("a re-check whose chain call throws closes the session (fail closed) and logs session.recheck_failed; nothing escapes the timer", async () => {
    const logs = createCapturingLogger();
    const registry = new MemorySessionStore(systemClock, logs.logger);
    const config = parseConfig(pluginConfigSchema, { auth: { defaultAction: "allow" } }) as PluginConfig;
    const chain = buildChain(config, { sessions: registry, clock: systemClock }, logs.logger);
    // An operator's own decision listener with a bug: the chain's emit throws out of decide().
    chain.on("decision", function brokenAudit() {
      throw new Error("audit sink down");
    });
    const rechecker = new SessionRechecker(chain, registry, 300, logs.logger);
    try {
      const session = registry.open({
        protocol: "rtmp",
        app: "live",
        channel: "test",
        ip: "192.0.2.1",
        userAgent: "p",
        transport: { bytesOut: () => 0, close() {} },
      });
      registry.admit(session, { identity: undefined, request: authRequest() });
      rechecker.schedule(session, { verdict: "allow", step: "default", reason: "default action", ttlSec: 0.05 } as never);
      await waitFor("the session to be closed", () => (session.state === "ended" ? true : undefined), 5000);
      expect(session.endReason).to.equal("denied-on-recheck");
      expect(logs.events("session.recheck_failed")[0]).to.include({ level: 50, sessionId: session.id });
    } finally {
      rechecker.close();
      await chain.close();
    }
  });

  it("the HLS key sweeper survives a throwing sweep and logs hls.sweep_failed", async () => {
    const logs = createCapturingLogger();
    const registry = new MemorySessionStore(systemClock, logs.logger);
    const brokenClock = {
      now(): number {
        throw new Error("clock source gone");
      },
    };
    const keys = new HlsSessionKeys(registry, brokenClock, 1, "exact", logs.logger); // sweeps every 250 ms
    keys.start(); // timers only: the HLS key sweep
    try {
      await waitFor("a failed sweep to be logged", () => logs.events("hls.sweep_failed")[0], 5000);
      expect(logs.events("hls.sweep_failed")[0]).to.include({ level: 50 });
    } finally {
      keys.close();
    }
  });

  it("metrics listeners are guarded: a counter that throws neither fails the check nor ends the process", async () => {
    const logs = createCapturingLogger();
    const registry = new MemorySessionStore(systemClock, logs.logger);
    const config = parseConfig(pluginConfigSchema, { auth: { defaultAction: "allow" } }) as PluginConfig;
    const chain = buildChain(config, { sessions: registry, clock: systemClock }, logs.logger);
    const metrics = new PluginMetrics(chain, registry, logs.logger);
    try {
      // prom-client throws on a duration that is not a finite number (a step's timer gone wrong).
      expect(() => chain.emit("step", "default" as never, Number.NaN)).to.not.throw();
      expect(logs.events("metrics.listener_failed")[0]).to.include({ level: 50, callback: "observeStep" });
      expect((await chain.decide(authRequest())).verdict, "later checks are unaffected").to.equal("allow");
      expect((await metrics.render()).body).to.include('va_decisions_total{step="default",verdict="allow"} 1');
    } finally {
      metrics.close();
      await chain.close();
    }
  });

  it("a session whose transport cannot say its bytes still ends (recorded as 0)", () => {
    const logs = createCapturingLogger();
    const registry = new MemorySessionStore(systemClock, logs.logger);
    const session = registry.open({
      protocol: "rtmp",
      app: "live",
      channel: "test",
      ip: "192.0.2.1",
      userAgent: "p",
      transport: {
        bytesOut(): number {
          throw new Error("socket gone");
        },
        close() {},
      },
    });
    expect(() => registry.end(session, "viewer-left")).to.not.throw();
    expect(session).to.include({ state: "ended", finalBytesOut: 0 });
    expect(logs.events("session.bytes_failed")[0]).to.include({ sessionId: session.id });
  });
});
