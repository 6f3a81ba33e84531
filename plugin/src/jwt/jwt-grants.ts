import type { RefusalCode } from "../core/decision.js";
import { ALL_CHANNELS, type UsersAuthConfig } from "../users/users-schema.js";
import type { JwtConfig } from "./jwt-schema.js";

/** `auth.packages`: package name to channels, as the built-in users read it. */
export type Packages = UsersAuthConfig["packages"];

/** Claims that are lists must be lists of strings; more entries than this are refused (a token is not a database). */
const MAX_CLAIM_ENTRIES = 1000;

/**
 * Whether a verified token grants the channel: named in the channels claim (`*` for every channel), or
 * in a package of `auth.packages` named by the packages claim (a package holding `*` grants every
 * channel), exactly as a built-in user's packages do. A package name the configuration does not know
 * grants nothing. A claim that is present but not a list of strings is a refusal of its own (`jwt-claims`).
 */
export function grantsByClaims(
  payload: Readonly<Record<string, unknown>>,
  config: Pick<JwtConfig, "channelsClaim" | "packagesClaim">,
  packages: Packages,
  channel: string,
): true | { code: RefusalCode; specifics: string } {
  const channels = stringList(payload[config.channelsClaim]);
  const named = stringList(payload[config.packagesClaim]);
  if (channels === "invalid") return { code: "jwt-claims", specifics: `claim ${config.channelsClaim} is not a list of strings` };
  if (named === "invalid") return { code: "jwt-claims", specifics: `claim ${config.packagesClaim} is not a list of strings` };
  if (channels.includes(ALL_CHANNELS) || channels.includes(channel)) return true;
  for (const name of named) {
    const members = Object.hasOwn(packages, name) ? packages[name] : undefined;
    if (members !== undefined && (members.includes(ALL_CHANNELS) || members.includes(channel))) return true;
  }
  return {
    code: "jwt-channel",
    specifics: `channel "${channel}" is not granted by the token's ${config.channelsClaim} or ${config.packagesClaim}`,
  };
}

function stringList(value: unknown): readonly string[] | "invalid" {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_CLAIM_ENTRIES || !value.every((entry) => typeof entry === "string")) return "invalid";
  return value as string[];
}
