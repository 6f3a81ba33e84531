import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventsSchema, type EventsConfig } from "../../plugin/src/events/events-schema.js";
import { WebhookEvents } from "../../plugin/src/events/webhook-events.js";
import { MemorySessionStore } from "../../plugin/src/sessions/memory-session-store.js";
import { systemClock, type Clock } from "../../plugin/src/core/clock.js";
import type { ViewerSession } from "../../plugin/src/core/viewer-session.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { waitFor, waitUntil } from "../helpers/wait-for.js";
import { WebhookReceiver } from "../helpers/webhook-receiver.js";

const SECRET = "receiver-secret-0123456789";

describe("webhook delivery: outbox, order, retries, age and bound", function () {
  this.timeout(60_000);
  let dir: string;
  let receiver: WebhookReceiver;
  const opened: WebhookEvents[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "va-webhooks-"));
    receiver = new WebhookReceiver(SECRET);
    await receiver.listen();
  });
  afterEach(async () => {
    for (const events of opened.splice(0)) await events.close();
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function eventsConfig(extra: Record<string, unknown> = {}, hook: Record<string, unknown> = {}): EventsConfig {
    return eventsSchema.parse({
      webhooks: [{ name: "r", url: receiver.url, secret: SECRET, timeoutMs: 1000, ...hook }],
      node: "edge-test",
      outbox: { file: join(dir, "outbox.sqlite") },
      retry: { initialMs: 50, maxMs: 200 },
      ...extra,
    });
  }

  function started(config: EventsConfig, clock: Clock = systemClock) {
    const logs = createCapturingLogger();
    const sessions = new MemorySessionStore(clock, logs.logger);
    const events = new WebhookEvents(config, config.outbox.file!, { sessions, clock, log: logs.logger });
    events.start();
    opened.push(events);
    return { events, sessions, logs };
  }

  function play(sessions: MemorySessionStore, channel: string, bytes = 1234): ViewerSession {
    const session = sessions.open({
      protocol: "http-flv",
      app: "live",
      channel,
      ip: "192.0.2.7",
      userAgent: "test-player/1.0",
      transport: { bytesOut: () => bytes, close() {} },
    });
    sessions.admit(session, { identity: { userId: "alice", name: "Alice" }, request: undefined });
    return session;
  }

  it("delivers a session's start and end, signed, with every field", async () => {
    const { sessions } = started(eventsConfig());
    const session = play(sessions, "a");
    sessions.end(session, "viewer-left");
    await waitUntil("start and end delivered", () => receiver.events.length === 2);
    const [start, end] = receiver.events;
    expect(receiver.requests.every((r) => r.signatureValid)).to.equal(true);
    expect(start!.type).to.equal("session.start");
    expect(end!.type).to.equal("session.end");
    expect(start!.body).to.include({ node: "edge-test" });
    expect(start!.body.time).to.match(/^\d{4}-\d\d-\d\dT/);
    expect(start!.body.session).to.include({
      id: session.id,
      protocol: "http-flv",
      app: "live",
      channel: "a",
      ip: "192.0.2.7",
      userAgent: "test-player/1.0",
    });
    expect((start!.body.session as { user: unknown }).user).to.deep.equal({ id: "alice", name: "Alice" });
    expect(end!.body.session).to.include({ id: session.id, reason: "viewer-left", bytesOut: 1234 });
    expect((end!.body.session as { durationMs: number }).durationMs)
      .to.be.a("number")
      .at.least(0);
    expect(start!.id).to.not.equal(end!.id);
  });

  it("receiver down for a while, then back: every event arrives, each session's end after its start", async () => {
    const port = receiver.port;
    await receiver.close();
    const { events, sessions } = started(eventsConfig());
    const all = ["a", "b", "c", "d", "e"].map((channel) => play(sessions, channel));
    for (const session of all) sessions.end(session, "viewer-left");
    await waitUntil("attempts failed while down", () => events.counters().failed.r! >= 3);
    expect(events.status()[0]).to.include({ pending: 10 });
    expect(events.status()[0]!.lastError).to.be.a("string");
    await receiver.listen(port);
    await waitUntil("all delivered", () => receiver.events.length === 10, 20_000);
    for (const session of all) {
      const types = receiver.events.filter((e) => (e.body.session as { id: string }).id === session.id).map((e) => e.type);
      expect(types, session.channel).to.deep.equal(["session.start", "session.end"]);
    }
    expect(events.counters().pending.r).to.equal(0);
    expect(events.status()[0]!.lastSuccessAt).to.be.a("string");
  });

  it("a receiver answering 500 is retried until it answers 2xx", async () => {
    receiver.answer = (n) => (n <= 2 ? { status: 500 } : { status: 200 });
    const { events } = started(eventsConfig());
    const queued = events.sendTest();
    expect(queued?.webhooks).to.deep.equal(["r"]);
    await waitUntil("the test event delivered", () => receiver.events.length === 1);
    expect(receiver.requests.map((r) => r.attempt)).to.deep.equal([1, 2, 3]);
    expect(receiver.requests.every((r) => r.id === queued!.id)).to.equal(true);
    expect(receiver.events[0]!.type).to.equal("test");
    expect(events.counters()).to.deep.include({ failed: { r: 2 }, delivered: { r: 1 } });
  });

  it("a hanging receiver: each attempt ends at timeoutMs and is retried; another webhook is not held up", async () => {
    const other = new WebhookReceiver(SECRET);
    await other.listen();
    try {
      receiver.answer = () => "hang";
      const config = eventsSchema.parse({
        webhooks: [
          { name: "hangs", url: receiver.url, secret: SECRET, timeoutMs: 300 },
          { name: "answers", url: other.url, secret: SECRET, timeoutMs: 300 },
        ],
        outbox: { file: join(dir, "outbox.sqlite") },
        retry: { initialMs: 50, maxMs: 100 },
      });
      const { events } = started(config);
      events.sendTest();
      events.sendTest();
      await waitUntil("the other webhook got both", () => other.events.length === 2, 5000);
      await waitUntil("the hanging one timed out twice", () => events.counters().failed.hangs! >= 2, 10_000);
      expect(events.status().find((s) => s.name === "hangs")!.lastError).to.equal("timeout after 300 ms");
      expect(events.counters().pending).to.deep.equal({ hangs: 2, answers: 0 });
    } finally {
      await other.close();
    }
  });

  it("drops and counts an event older than outbox.maxAgeSec", async () => {
    await receiver.close();
    const clock = new ManualClock();
    const { events } = started(eventsConfig({ outbox: { file: join(dir, "outbox.sqlite"), maxAgeSec: 60 } }), clock);
    events.sendTest();
    await waitUntil("a failed attempt", () => events.counters().failed.r! >= 1);
    clock.advance(61_000);
    await waitUntil("the event expired at the next attempt", () => events.counters().dropped.expired === 1, 5000);
    expect(events.counters().pending.r).to.equal(0);
  });

  it("keeps at most outbox.maxEvents: the oldest are dropped and counted, the newest delivered", async () => {
    const port = receiver.port;
    await receiver.close();
    const { events } = started(eventsConfig({ outbox: { file: join(dir, "outbox.sqlite"), maxEvents: 100 } }));
    const ids = Array.from({ length: 130 }, () => events.sendTest()!.id);
    expect(events.counters().pending.r).to.equal(100);
    expect(events.counters().dropped.overflow).to.equal(30);
    await receiver.listen(port);
    await waitUntil("the 100 newest delivered", () => receiver.events.length === 100, 20_000);
    expect(receiver.events.map((e) => e.id)).to.deep.equal(ids.slice(30));
  });

  it("writes before delivering: events pending at close go out after a restart on the same file", async () => {
    const port = receiver.port;
    await receiver.close();
    const first = started(eventsConfig());
    const session = play(first.sessions, "x");
    first.sessions.end(session, "viewer-left");
    await first.events.close();
    await receiver.listen(port);
    const second = started(eventsConfig());
    await waitUntil("delivered after the restart", () => receiver.events.length === 2);
    expect(receiver.events.map((e) => e.type)).to.deep.equal(["session.start", "session.end"]);
    expect(second.events.counters().pending.r).to.equal(0);
  });

  it("enqueue is a synchronous local write: its cost per event, measured", async () => {
    receiver.answer = () => "hang";
    const { events } = started(eventsConfig({ outbox: { file: join(dir, "outbox.sqlite"), maxEvents: 100_000 } }));
    const count = 2000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < count; i++) events.sendTest();
    const perEventUs = Number(process.hrtime.bigint() - t0) / 1000 / count;
    console.log(`      enqueue: ${perEventUs.toFixed(1)} µs per event (${count} events, WAL, synchronous=NORMAL)`);
    expect(perEventUs, "well under a millisecond on a busy machine").to.be.lessThan(2000);
    await waitFor("pending counted", () => (events.counters().pending.r === count ? true : undefined));
  });
});
