import { z } from "zod";
import { parseStoredPassword, type StoredPassword } from "./stored-password.js";
import { dateTimeSchema, ipRangeListSchema, parsedStringSchema } from "../config/value-schemas.js";

/** A login: letters, digits and `._@-`, 1-64 characters (no `:`, which separates it in `auth=login:password`). */
const LOGIN_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;
/** A channel as NMS names streams, or `*` for every channel. */
const CHANNEL_PATTERN = /^([A-Za-z0-9_-]+|\*)$/;
/** The package entry that grants every channel. */
export const ALL_CHANNELS = "*";

/** A stored password: an `scrypt$N$r$p$salt$hash` string, or plaintext (accepted with a warning at load). */
const storedPasswordSchema = parsedStringSchema<StoredPassword>((text) => (text === "" ? "must not be empty" : parseStoredPassword(text)));

const channelSchema = z.string().regex(CHANNEL_PATTERN, "is not a channel name ([A-Za-z0-9_-]+) or *");

/**
 * One built-in user (docs/protocols.md §1 step 3). Output keys are the input keys, with `password` parsed
 * and `expires` compiled to ms since the epoch.
 */
export const userSchema = z.strictObject({
  /** The name in `auth=login:password`, and the session's name and user id. */
  login: z.string().regex(LOGIN_PATTERN, "must be 1-64 letters, digits or ._@- (no ':')"),
  /** scrypt hash (see `npm run hash-password`) or plaintext; omit for token-only users. */
  password: storedPasswordSchema.optional(),
  /** Tokens accepted as `?token=`; each unique across all users. */
  tokens: z.array(z.string().min(1, "must not be empty")).default([]),
  /** Addresses/CIDRs the user may play from; empty = anywhere. */
  ips: ipRangeListSchema.default([]),
  /** ISO 8601 date-time after which the user is refused (and playing sessions cut at their next re-check). */
  expires: dateTimeSchema.optional(),
  /** At most this many simultaneous sessions, all protocols together; unset = no limit. */
  maxConnections: z.number().int("must be a whole number").min(1, "must be at least 1").optional(),
  /** Package names from `auth.packages`, or `*` for every channel. Required: an empty list plays nothing. */
  packages: z.array(z.string().min(1, "must not be empty")),
  /** A disabled user is refused with reason "user … is disabled". */
  enabled: z.boolean().default(true),
  /** Free text for the operator; never used. */
  comment: z.string().default(""),
});

/** A validated user as the configuration holds it. */
export type UserConfig = z.output<typeof userSchema>;

/**
 * A users list entry. An entry that is not a mapping (say `- "demo:demo"`) is refused without echoing
 * it: it is most likely a credential written in the wrong form.
 */
const userEntrySchema = z.preprocess((value, ctx) => {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) return value;
  ctx.issues.push({
    code: "custom",
    message: "must be a mapping of user keys (login, password, tokens, packages, …)",
    input: "<redacted>",
  });
  return z.NEVER;
}, userSchema);

/** `auth.users`: built-in users written in the main configuration. */
export const userListSchema = z.array(userEntrySchema);

/** `auth.packages`: named sets of channels; `*` in a set means every channel. */
export const packagesSchema = z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, "must be letters, digits or ._-"), z.array(channelSchema));

/** `auth.usersFile`: a YAML file holding `users: [...]`, reloaded on change and SIGHUP; null = none. */
export const usersFileSchema = z.string().min(1, "must not be empty").nullable();

/**
 * The users part of the `auth` section (`auth.users`, `auth.usersFile`, `auth.packages`): what the user
 * store reads. The whole section is assembled in the composition root, a floor above.
 */
export interface UsersAuthConfig {
  users: z.output<typeof userListSchema>;
  usersFile: z.output<typeof usersFileSchema>;
  packages: z.output<typeof packagesSchema>;
}

/** The content of a users file. */
export const usersFileContentSchema = z.strictObject({
  users: userListSchema.default([]),
});
