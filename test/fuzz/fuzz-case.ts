import type { CaseOutcome } from "./case-outcome.js";

/** The input surfaces the fuzzer attacks, one generator file each. */
export const FAMILIES = ["http", "ws", "rtmp", "api"] as const;
export type Family = (typeof FAMILIES)[number];

/** What a case needs to know about the server under test. */
export interface CaseContext {
  readonly ports: { readonly http: number; readonly rtmp: number; readonly api: number };
  /** The channel on air, e.g. `live` / `test`. */
  readonly app: string;
  readonly channel: string;
  /** A viewer token the users file allows: only cases marked `authorized` may use it. */
  readonly viewerToken: string;
  /** The management API's bearer token: only cases marked `authorized` may use it. */
  readonly apiToken: string;
  /** The server's securetoken secret (astra, bound to the address): cases sign genuine links with it only to re-spell them. */
  readonly securetokenSecret: string;
  /**
   * Bytes a case puts into any media it tries to inject (RTMP/FLV publish junk, media messages from a
   * player): an authorized viewer watching the channel must never receive them.
   */
  readonly injectMarker: Buffer;
}

/**
 * FuzzCase is one replayable attack: built deterministically from the run's seed and its index, it
 * sends its input and records every answer in a CaseOutcome, which judges it (5xx, not refused,
 * media to an unauthorized client).
 */
export interface FuzzCase {
  readonly family: Family;
  /** Position in the run's plan: `--seed S --case <index>` rebuilds exactly this case. */
  readonly index: number;
  /** A short description of what is sent, e.g. `connect: flashVer = number`. */
  readonly name: string;
  /**
   * True when the case presents valid credentials around its hostile input (the viewer token or the
   * API token): media and 2xx answers are then allowed, 5xx still is not.
   */
  readonly authorized: boolean;
  run(ctx: CaseContext, outcome: CaseOutcome): Promise<void>;
}

/** The parts of a case a generator writes; the plan adds family and index. */
export type CaseBody = Omit<FuzzCase, "family" | "index">;

/**
 * A case made of one or more attacks sent one after the other: `build` makes them from the run's
 * context, `send` delivers one and records its answer under a label (`name`, or `name #i` when there
 * are several).
 */
export function attackSequence<A>(
  name: string,
  build: (ctx: CaseContext) => A | A[],
  send: (ctx: CaseContext, attack: A, outcome: CaseOutcome, label: string) => Promise<unknown>,
  authorized = false,
): CaseBody {
  return {
    name,
    authorized,
    async run(ctx, outcome) {
      const built = build(ctx);
      const attacks = Array.isArray(built) ? built : [built];
      for (const [i, attack] of attacks.entries()) await send(ctx, attack, outcome, attacks.length > 1 ? `${name} #${i + 1}` : name);
    },
  };
}
