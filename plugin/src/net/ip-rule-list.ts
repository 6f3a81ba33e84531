import type { IpAddress } from "./ip-address.js";
import { prefixKey, type IpRange } from "./ip-range.js";

/**
 * IpRuleList answers "is this address inside any of these ranges?" in time that grows with the
 * number of distinct prefix lengths (at most 33 + 129), not with the number of ranges: each prefix
 * length keeps a hash set of network keys.
 */
export class IpRuleList {
  readonly size: number;
  readonly #v4 = new Map<number, Map<number | bigint, IpRange>>();
  readonly #v6 = new Map<number, Map<number | bigint, IpRange>>();
  /** Prefix lengths present, longest first, so the most specific range is reported. */
  readonly #v4Lengths: number[];
  readonly #v6Lengths: number[];

  constructor(ranges: readonly IpRange[]) {
    for (const range of ranges) {
      const byLength = range.family === 4 ? this.#v4 : this.#v6;
      let keys = byLength.get(range.prefixLength);
      if (keys === undefined) {
        keys = new Map();
        byLength.set(range.prefixLength, keys);
      }
      if (!keys.has(range.key)) keys.set(range.key, range);
    }
    this.size = ranges.length;
    this.#v4Lengths = [...this.#v4.keys()].sort((a, b) => b - a);
    this.#v6Lengths = [...this.#v6.keys()].sort((a, b) => b - a);
  }

  /** The most specific range containing the address, or undefined. */
  match(address: IpAddress): IpRange | undefined {
    const byLength = address.family === 4 ? this.#v4 : this.#v6;
    const lengths = address.family === 4 ? this.#v4Lengths : this.#v6Lengths;
    for (const length of lengths) {
      const found = byLength.get(length)?.get(prefixKey(address, length));
      if (found !== undefined) return found;
    }
    return undefined;
  }
}
