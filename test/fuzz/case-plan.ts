import { API_CATALOGUE, randomApiCase } from "./api-cases.js";
import type { CaseBody, Family, FuzzCase } from "./fuzz-case.js";
import { FuzzRandom } from "./fuzz-random.js";
import { HTTP_CATALOGUE, randomHttpCase } from "./http-cases.js";
import { randomRtmpCase, RTMP_CATALOGUE } from "./rtmp-cases.js";
import { randomWsCase, WS_CATALOGUE } from "./ws-cases.js";

/** How the families take turns: RTMP has the most input surface, the API the least. */
const SCHEDULE: readonly Family[] = ["rtmp", "http", "ws", "rtmp", "http", "api", "rtmp", "ws"];

const GENERATORS: Record<Family, { catalogue: readonly CaseBody[]; random: (random: FuzzRandom) => CaseBody }> = {
  http: { catalogue: HTTP_CATALOGUE, random: randomHttpCase },
  ws: { catalogue: WS_CATALOGUE, random: randomWsCase },
  rtmp: { catalogue: RTMP_CATALOGUE, random: randomRtmpCase },
  api: { catalogue: API_CATALOGUE, random: randomApiCase },
};

/** Which family case `index` belongs to, and its position among that family's cases. */
export function familySlot(index: number): { family: Family; ordinal: number } {
  const family = SCHEDULE[index % SCHEDULE.length]!;
  const perCycle = SCHEDULE.filter((f) => f === family).length;
  const before = SCHEDULE.slice(0, index % SCHEDULE.length).filter((f) => f === family).length;
  return { family, ordinal: Math.floor(index / SCHEDULE.length) * perCycle + before };
}

/**
 * The case at `index` of the run with `seed`: the families take turns (SCHEDULE); within a family,
 * catalogue cases and random cases alternate until the catalogue is used up, then all are random.
 * Rebuilding a case needs only its seed and index (its random source is derived from both), so
 * `--seed S --case K` replays exactly what the run sent.
 */
export function caseAt(seed: number, index: number): FuzzCase {
  const { family, ordinal } = familySlot(index);
  const generator = GENERATORS[family];
  const fromCatalogue = catalogueIndex(ordinal, generator.catalogue.length);
  const body = fromCatalogue === undefined ? generator.random(FuzzRandom.forCase(seed, index)) : generator.catalogue[fromCatalogue]!;
  return { ...body, family, index };
}

/**
 * The catalogue entry for a family's `ordinal`-th case, or undefined for a random one: even ordinals
 * walk the catalogue while it lasts, odd ones are random, and past the catalogue every case is random.
 */
function catalogueIndex(ordinal: number, size: number): number | undefined {
  if (ordinal % 2 === 1) return undefined;
  const entry = ordinal / 2;
  return entry < size ? entry : undefined;
}

/** Catalogue sizes, for the run's header line. */
export function catalogueSizes(): Record<Family, number> {
  return { http: HTTP_CATALOGUE.length, ws: WS_CATALOGUE.length, rtmp: RTMP_CATALOGUE.length, api: API_CATALOGUE.length };
}
