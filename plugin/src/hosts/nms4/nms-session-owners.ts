import type BaseSession from "node-media-server/src/session/base_session.js";
import { hookMapSet } from "./map-set-hook.js";
import type { Nms4Internals } from "./nms4-internals.js";

/**
 * NmsSessionOwners tells which NMS session a protocol parser belongs to. The input shield hooks the
 * parsers' prototypes, where only the parser (`session.rtmp`, `session.flv`) is at hand; to close a
 * connection or know whether it publishes it needs the session. NMS registers every session with
 * `Context.sessions.set` right after creating it and before any data arrives, so wrapping that `set`
 * sees each parser first. Weakly held: nothing stays once NMS drops a session.
 */
export class NmsSessionOwners {
  readonly #owners = new WeakMap<object, BaseSession>();
  readonly #sessions: Nms4Internals["Context"]["sessions"];
  #unhook: (() => void) | undefined;

  constructor({ Context }: Nms4Internals) {
    this.#sessions = Context.sessions;
  }

  /** Starts recording: the sessions that exist and every one NMS registers from now on. */
  attach(): void {
    if (this.#unhook !== undefined) return;
    this.#unhook = hookMapSet(this.#sessions, (session) => this.#record(session));
  }

  detach(): void {
    this.#unhook?.();
    this.#unhook = undefined;
  }

  /** The session whose parser this is, or undefined (a relay's client, a parser NMS never registered). */
  ownerOf(parser: object): BaseSession | undefined {
    return this.#owners.get(parser);
  }

  #record(session: BaseSession): void {
    const parser = session.protocol === "rtmp" ? session.rtmp : session.protocol === "flv" ? session.flv : undefined;
    if (typeof parser === "object" && parser !== null) this.#owners.set(parser, session);
  }
}
