import type { Clock } from "../core/clock.js";
import { REVOCATION_KINDS, type EdgeCommand } from "../core/cluster-seams.js";
import type { Logger } from "../core/log.js";
import type { ClusterConfig } from "./cluster-schema.js";
import { applyEdgeCommand, type EdgeCommandTargets } from "../sessions/edge-commands.js";
import type { ClusterKeys } from "./cluster-keys.js";
import { PUBLISH, RESTORE_REVOKED, runScript } from "./cluster-scripts.js";
import type { EdgeLease } from "./edge-lease.js";
import { pairsOf, pause } from "./redis-replies.js";
import { parseEdgeCommand } from "./shared-entries.js";

/** Commands kept in the stream for edges that come back (older ones are trimmed; revocations stay in their hash). */
const STREAM_LENGTH = 10_000;
/** Commands made while Redis was away, kept to publish when it is back. */
const MAX_QUEUED_COMMANDS = 10_000;

type StreamEntry = [string, string[]];

/**
 * CommandStream carries the operators' commands (close, revoke, lift) between edges through one Redis
 * stream: it publishes this edge's (queued while Redis is away, sent when it is back), and reads every
 * other edge's on its own connection from the last id seen, applying them with `applyEdgeCommand` like
 * the local API does. After any failure it catches up first (the revocations in force, then the stream
 * from where it stopped), so a command made while this edge was cut off still reaches it.
 */
export class CommandStream {
  readonly #lease: EdgeLease;
  readonly #keys: ClusterKeys;
  readonly #config: ClusterConfig;
  readonly #targets: EdgeCommandTargets;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #queued: EdgeCommand[] = [];
  #lastSeenId: string | undefined;
  #reader: Promise<void> | undefined;
  #stopped = false;

  constructor(lease: EdgeLease, keys: ClusterKeys, config: ClusterConfig, targets: EdgeCommandTargets, clock: Clock, log: Logger) {
    this.#lease = lease;
    this.#keys = keys;
    this.#config = config;
    this.#targets = targets;
    this.#clock = clock;
    this.#log = log;
  }

  /** Starts reading the other edges' commands (the lease has opened the link). */
  start(): void {
    if (this.#stopped || this.#reader !== undefined) return;
    this.#reader = this.#read();
  }

  /** Sends a command (already applied here) to every other edge; queued while Redis is away. */
  async publish(command: EdgeCommand): Promise<void> {
    if (this.#lease.up) {
      try {
        await this.#publishNow(command);
        return;
      } catch (error) {
        this.#lease.markDown(error);
      }
    }
    if (this.#queued.length >= MAX_QUEUED_COMMANDS) this.#queued.shift();
    this.#queued.push(command);
    this.#log.warn(
      { event: "cluster.command_queued", op: command.op, queued: this.#queued.length },
      "Redis unreachable: command applied on this edge, queued for the others",
    );
  }

  /** Redis answers again: put back the revocations it lost, then publish what was queued. */
  async recover(): Promise<void> {
    const revoked = this.#targets.revocations.list();
    if (revoked.length > 0) {
      await runScript(
        this.#lease.link!.commands,
        RESTORE_REVOKED,
        [this.#keys.revoked],
        revoked.flatMap((r) => [`${r.kind}:${r.key}`, String(r.untilMs)]),
      );
    }
    while (this.#queued.length > 0) {
      await this.#publishNow(this.#queued[0]!);
      this.#queued.shift();
    }
  }

  /** Stops reading: the loop ends when its blocking read fails on the closed connection. */
  stop(): void {
    this.#stopped = true;
  }

  /** Resolves once the reading loop has ended (after `stop` and the connection's close). */
  async closed(): Promise<void> {
    await this.#reader;
  }

  async #publishNow(command: EdgeCommand): Promise<void> {
    const field = command.op === "revoke" || command.op === "lift" ? `${command.kind}:${command.key}` : "";
    const until = command.op === "revoke" ? String(command.untilMs) : "0";
    await runScript(
      this.#lease.link!.commands,
      PUBLISH,
      [this.#keys.commands, this.#keys.revoked],
      [JSON.stringify(command), command.op, field, until, this.#lease.nodeId, String(STREAM_LENGTH)],
    );
  }

  /** Reads every edge's commands from the stream, blocking on its own connection, from the last id seen. */
  async #read(): Promise<void> {
    const reader = this.#lease.link!.reader;
    const blockMs = 2000;
    let catchUp = true;
    while (!this.#stopped) {
      try {
        if (catchUp) {
          await this.#catchUp();
          catchUp = false;
        }
        const reply = await reader.call(
          ["XREAD", "COUNT", "1000", "BLOCK", String(blockMs), "STREAMS", this.#keys.commands, this.#lastSeenId!],
          blockMs + this.#config.timeoutMs,
        );
        for (const [, entries] of pairsOf<StreamEntry[]>(reply)) for (const [id, fields] of entries) this.#applyEntry(id, fields);
      } catch {
        if (this.#stopped) return;
        catchUp = true;
        await pause(Math.min(this.#config.heartbeatMs, 500));
      }
    }
  }

  async #catchUp(): Promise<void> {
    const reader = this.#lease.link!.reader;
    if (this.#lastSeenId === undefined) {
      const last = (await reader.call(["XREVRANGE", this.#keys.commands, "+", "-", "COUNT", "1"])) as [string, string[]][];
      this.#lastSeenId = last[0]?.[0] ?? "0-0";
    }
    // Revocations in force that this edge does not know yet are applied like the command that made them,
    // so they close sessions too: this holds even when the command itself was trimmed from the stream.
    const known = new Set(this.#targets.revocations.list().map((r) => `${r.kind}:${r.key}`));
    for (const [field, until] of pairsOf(await reader.call(["HGETALL", this.#keys.revoked]))) {
      const colon = field.indexOf(":");
      const kind = REVOCATION_KINDS.find((k) => k === field.slice(0, colon));
      const untilMs = Number(until);
      if (kind === undefined || known.has(field) || !(untilMs > this.#clock.now())) continue;
      applyEdgeCommand(this.#targets, { op: "revoke", kind, key: field.slice(colon + 1), untilMs });
    }
  }

  #applyEntry(id: string, fields: string[]): void {
    this.#lastSeenId = id;
    const from = fields[fields.indexOf("from") + 1];
    const command = parseEdgeCommand(fields[fields.indexOf("c") + 1]);
    if (from === this.#lease.nodeId || command === undefined) return;
    const closed = applyEdgeCommand(this.#targets, command);
    this.#log.info({ event: "cluster.command_applied", op: command.op, from, closed: closed.length }, "command from another edge applied");
  }
}
