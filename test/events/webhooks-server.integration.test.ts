import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { spawnLogged, type SpawnedProcess } from "../helpers/spawned-process.js";
import { testChannel } from "../helpers/test-channel.js";
import { waitFor, waitUntil } from "../helpers/wait-for.js";
import { WebhookReceiver } from "../helpers/webhook-receiver.js";

const SECRET = "receiver-secret-0123456789";

interface OutboxRow {
  event_id: string;
  type: string;
}

describe("webhooks in the bundled server: pending events survive SIGKILL and SIGTERM", function () {
  this.timeout(180_000);
  let dir: string;
  let receiver: WebhookReceiver;
  const servers: SpawnedProcess[] = [];

  before(function () {
    if (!hasFfmpeg) this.skip();
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "va-webhooks-server-"));
    receiver = new WebhookReceiver(SECRET);
    await receiver.listen();
  });
  afterEach(async () => {
    for (const server of servers.splice(0))
      if (server.proc.exitCode === null && server.proc.signalCode === null) server.proc.kill("SIGKILL");
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The bundled server in a process of its own (NMS 4 keeps process-wide state), on one data directory. */
  async function startServer(): Promise<{ server: SpawnedProcess; http: number }> {
    const config = {
      server: { bind: "127.0.0.1", rtmpPort: 0, httpPort: 0, dataDir: join(dir, "data") },
      channels: [testChannel("test")],
      auth: { defaultAction: "allow" },
      events: { webhooks: [{ name: "r", url: receiver.url, secret: SECRET }], retry: { initialMs: 50, maxMs: 300 } },
    };
    const server = spawnLogged(process.execPath, ["--import", "tsx", "test/fixtures/cluster-edge.ts", JSON.stringify(config)]);
    servers.push(server);
    const ready = await waitFor(
      () => `the server to start: ${server.output().slice(-2000)}`,
      () =>
        server
          .output()
          .split("\n")
          .find((l) => l.includes('"edge.ready"')),
      60_000,
    );
    return { server, http: (JSON.parse(ready) as { http: number }).http };
  }

  /** The outbox rows as the file holds them now (read beside the running server: WAL allows it). */
  function outboxRows(): OutboxRow[] {
    const db = new Database(join(dir, "data", "webhook-outbox.sqlite"), { readonly: true, fileMustExist: true });
    try {
      return db.prepare("SELECT event_id, type FROM deliveries WHERE webhook = 'r' ORDER BY seq").all() as OutboxRow[];
    } finally {
      db.close();
    }
  }

  /** A play of a second, then waits until its start and end are in the outbox, undelivered; returns every pending row. */
  async function playWhileReceiverIsDown(http: number, before: number): Promise<OutboxRow[]> {
    const played = await httpGetFor(`http://127.0.0.1:${http}/live/test.flv`, 1000);
    expect(played.bytes, "the play got media").to.be.greaterThan(0);
    return waitFor("the play's start and end in the outbox", () => {
      const rows = outboxRows();
      return rows.filter((r) => r.type.startsWith("session.")).length >= before + 2 ? rows : undefined;
    });
  }

  it("SIGKILL with events pending: the next start delivers them, each session's end after its start; the same after SIGTERM", async () => {
    const port = receiver.port;
    await receiver.close();
    const first = await startServer();
    // The channel's ingest is a publish too: wait for it to be on air, so a play gets media.
    await waitUntil("publish.start in the outbox", () => outboxRows().some((r) => r.type === "publish.start"), 60_000);
    const pendingAtKill = await playWhileReceiverIsDown(first.http, 0);
    first.server.proc.kill("SIGKILL");
    await first.server.exit;

    await receiver.listen(port);
    const second = await startServer();
    await waitUntil(
      "every event pending at the SIGKILL delivered",
      () => pendingAtKill.every((row) => receiver.events.some((e) => e.id === row.event_id)),
      60_000,
    );
    expect(receiver.requests.every((r) => r.signatureValid)).to.equal(true);
    const sessionTypes = receiver.events.filter((e) => e.type.startsWith("session.")).map((e) => e.type);
    expect(sessionTypes.slice(0, 2)).to.deep.equal(["session.start", "session.end"]);

    // SIGTERM: the server stops cleanly; what is still undelivered goes out at the next start.
    await receiver.close();
    const pendingAtStop = await playWhileReceiverIsDown(second.http, 0);
    second.server.proc.kill("SIGTERM");
    expect(await second.server.exit).to.equal(0);
    await receiver.listen(port);
    await startServer();
    await waitUntil(
      "every event pending at the SIGTERM delivered",
      () => pendingAtStop.every((row) => receiver.events.some((e) => e.id === row.event_id)),
      60_000,
    );
  });
});
