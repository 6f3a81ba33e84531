import { z } from "zod";
import { httpUrlSchema, secondsSchema } from "../config/value-schemas.js";

/**
 * An HMAC secret shorter than this is refused at load: RFC 7518 §3.2 asks for a key at least as long as
 * the hash (256 bits for HS256), and a short one can be searched offline from any token a viewer holds.
 */
export const MIN_JWT_SECRET_BYTES = 32;

/** A query parameter name, as a viewer's URL carries it. */
const paramSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be 1-64 letters, digits or ._-");

/** A claim name (a top-level key of the token's payload). */
const claimSchema = z.string().min(1, "must not be empty").max(128, "must be at most 128 characters");

/** One HS secret; its text is never echoed in an issue (it is a secret). */
const secretSchema = z.string().superRefine((text, ctx) => {
  if (Buffer.byteLength(text, "utf8") < MIN_JWT_SECRET_BYTES) {
    ctx.issues.push({
      code: "custom",
      message: `is too weak: an HS secret needs at least ${MIN_JWT_SECRET_BYTES} bytes`,
      input: "<redacted>",
    });
  }
});

/**
 * `auth.jwt`: JSON Web Tokens in a query parameter (docs/jwt.md). The section is null by default: the
 * step is off. Written as a mapping it is on, and needs `secrets` (HS256/384/512), a `jwksUrl`
 * (RS/PS/ES/EdDSA keys), or both.
 */
export const jwtSchema = z
  .strictObject({
    /** The query parameter holding the token (`?token=eyJ…`); a value without the JWT shape passes on. */
    param: paramSchema.default("token"),
    /** HMAC secrets (each at least 32 bytes); several at once for rotation. */
    secrets: z.array(secretSchema).default([]),
    /** Where the public keys (a JWK Set) are fetched from; null = no asymmetric algorithm is accepted. */
    jwksUrl: httpUrlSchema.nullable().default(null),
    /** The `iss` every token must carry; null = not checked. */
    issuer: z.string().min(1, "must not be empty").nullable().default(null),
    /** An `aud` every token must name; null = not checked. */
    audience: z.string().min(1, "must not be empty").nullable().default(null),
    /** Seconds `exp` and `nbf` may be off the server's clock; a playing session is cut at `exp` + this. */
    clockSkewSec: secondsSchema(0).max(3600, "must be at most 3600 s").default(30),
    /** The claim naming the user (the session's name and user id). */
    userClaim: claimSchema.default("sub"),
    /** The claim listing the channels the token grants (`["news", "sport"]`, `["*"]` for all). */
    channelsClaim: claimSchema.default("channels"),
    /** The claim listing package names of `auth.packages` the token grants. */
    packagesClaim: claimSchema.default("packages"),
    /** The claim setting the user's limit of simultaneous sessions. */
    maxConnectionsClaim: claimSchema.default("max_sessions"),
  })
  .superRefine((section, ctx) => {
    if (section.secrets.length === 0 && section.jwksUrl === null) {
      ctx.addIssue({ code: "custom", message: "needs secrets (HS algorithms) or a jwksUrl (public keys), or both", path: [] });
    }
  });

/** The validated `auth.jwt` section (when on). */
export type JwtConfig = z.output<typeof jwtSchema>;
