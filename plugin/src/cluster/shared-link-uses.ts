import type { Clock } from "../core/clock.js";
import type { CountedUse, UseCounter } from "../core/use-counter.js";
import { MemoryLinkUses } from "../securetoken/link-uses.js";
import type { ClusterConfig } from "./cluster-schema.js";
import type { ClusterKeys } from "./cluster-keys.js";
import { GIVE_BACK_USE, TAKE_USE, runScript } from "./cluster-scripts.js";
import type { EdgeLease } from "./edge-lease.js";

/**
 * SharedLinkUses counts the uses of signed links with `maxUses` for every edge at once: one Redis
 * counter per link (`ClusterKeys.uses`), read and raised in one Lua script, so of two edges racing on
 * a one-time link exactly one counts the use. The counter expires at the link's end. While Redis is
 * away the edge follows `onRedisDown`: counts on this edge alone (`local`) or refuses the link (`deny`).
 */
export class SharedLinkUses implements UseCounter {
  readonly #lease: EdgeLease;
  readonly #keys: ClusterKeys;
  readonly #onRedisDown: ClusterConfig["onRedisDown"];
  readonly #local: MemoryLinkUses;
  /** Uses counted on this edge alone while Redis was away: given back here, not in Redis. */
  readonly #countedHere = new Set<CountedUse>();

  constructor(lease: EdgeLease, keys: ClusterKeys, config: ClusterConfig, clock: Clock) {
    this.#lease = lease;
    this.#keys = keys;
    this.#onRedisDown = config.onRedisDown;
    this.#local = new MemoryLinkUses(clock);
  }

  async take(use: CountedUse): Promise<boolean> {
    const link = this.#lease.link;
    if (this.#lease.up && link !== undefined) {
      try {
        return Number(await runScript(link.commands, TAKE_USE, [this.#keys.uses(use.key)], [String(use.max), String(use.untilMs)])) === 1;
      } catch (error) {
        this.#lease.markDown(error);
      }
    }
    if (this.#onRedisDown === "deny") return false;
    const counted = this.#local.takeNow(use);
    if (counted) this.#countedHere.add(use);
    return counted;
  }

  giveBack(use: CountedUse): void {
    if (this.#countedHere.delete(use)) return this.#local.giveBack(use);
    const link = this.#lease.link;
    if (!this.#lease.up || link === undefined) return;
    runScript(link.commands, GIVE_BACK_USE, [this.#keys.uses(use.key)], []).catch((error: unknown) => this.#lease.markDown(error));
  }
}
