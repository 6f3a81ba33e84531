/**
 * MinuteQuota hands out at most `perKey` admissions per key, to at most `total` distinct keys, per UTC
 * minute (so at most `perKey` × `total` a minute), so a
 * flood of one key (one identity hammering a limit) or of many keys (attacker-chosen names) costs a
 * bounded number of stored entries a minute. Only the current and the previous minute are remembered
 * (a late event of the previous minute still counts there), so memory is bounded by 2 × `total` keys.
 */
export class MinuteQuota {
  readonly #perKey: number;
  readonly #total: number;
  readonly #minutes = new Map<number, { used: number; byKey: Map<string, number> }>();

  constructor(perKey: number, total: number) {
    this.#perKey = perKey;
    this.#total = total;
  }

  /** True when `key` may have one more entry in the minute holding `atMs`; counts it if so. */
  take(key: string, atMs: number): boolean {
    const minute = minuteOf(atMs);
    let slot = this.#minutes.get(minute);
    if (slot === undefined) {
      for (const m of this.#minutes.keys()) if (m < minute - 60_000) this.#minutes.delete(m);
      slot = { used: 0, byKey: new Map() };
      this.#minutes.set(minute, slot);
    }
    const used = slot.byKey.get(key);
    if (used === undefined ? slot.used >= this.#total : used >= this.#perKey) return false;
    slot.byKey.set(key, (used ?? 0) + 1);
    if (used === undefined) slot.used++;
    return true;
  }
}

/** The start of the UTC minute holding `atMs`. */
export function minuteOf(atMs: number): number {
  return Math.floor(atMs / 60_000) * 60_000;
}
