import { AMF0_SAMPLES, type Amf0Value } from "../helpers/rtmp-wire.js";
import type { FuzzRandom } from "./fuzz-random.js";
import { hostileText } from "./hostile-values.js";

const NUMBERS = [
  0,
  -0,
  -1,
  1.5,
  2 ** 53,
  -(2 ** 31),
  Number.MAX_VALUE,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.NaN,
] as const;

/**
 * A random AMF0 value of any type: one of the fixed samples (every type, including the rare markers
 * and truncated bytes), a number from the edge cases, hostile text, or an array or object of random
 * values nested up to `depth` deep.
 */
export function randomAmf0(random: FuzzRandom, depth = 2): Amf0Value {
  const roll = random.next();
  if (roll < 0.35) return random.pick(AMF0_SAMPLES).value;
  if (roll < 0.5) return random.pick(NUMBERS);
  if (roll < 0.75) return hostileText(random);
  if (roll < 0.8 || depth <= 0) return random.pick([true, false, null, undefined]);
  if (roll < 0.9) return Array.from({ length: random.int(0, 4) }, () => randomAmf0(random, depth - 1));
  const object: Record<string, Amf0Value> = {};
  for (let i = random.int(0, 4); i > 0; i--) {
    const key = random.chance(0.5) ? random.pick(["app", "tcUrl", "flashVer", "__proto__", "objectEncoding", "type"]) : hostileText(random);
    // defineProperty: a plain assignment to "__proto__" would set the prototype instead of sending the key.
    Object.defineProperty(object, key, { value: randomAmf0(random, depth - 1), enumerable: true, writable: true, configurable: true });
  }
  return object;
}
