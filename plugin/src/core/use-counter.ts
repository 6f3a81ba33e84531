/** One counted use of a credential: its key (`credentialKey`), how many uses it has, and when its count is forgotten. */
export interface CountedUse {
  readonly key: string;
  readonly max: number;
  /** The credential's end, ms since the epoch: after it the count is dropped (the credential is refused anyway). */
  readonly untilMs: number;
}

/**
 * Counts the sessions a credential with a bounded number of uses started (a signed link's `maxUses`).
 * The in-memory counter serves one process; with a cluster, Redis counts for every edge at once.
 */
export interface UseCounter {
  /** Counts one use unless `max` are counted already, atomically: true when this call counted it. */
  take(use: CountedUse): Promise<boolean>;
  /** Gives back a use `take` counted for a session that then never played (a limit, a missing playlist). */
  giveBack(use: CountedUse): void;
}
