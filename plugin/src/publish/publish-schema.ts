import { z } from "zod";
import { ipRangeListSchema } from "../config/value-schemas.js";
import { publishSecuretokenSchema } from "../securetoken/securetoken-schema.js";

/** Who may publish when the `publish` section leaves `allowIps` out: this machine only. */
export const DEFAULT_PUBLISH_ALLOW_IPS: readonly string[] = ["127.0.0.1/32", "::1/128"];

/**
 * `publish`: who may publish into an app/stream. A publisher gets in from an address on `allowIps`
 * (loopback by default) or with a publish link signed with one of `securetoken.secrets` (the signed-link
 * formats of `auth.securetoken`, bound to `/<app>/<stream>`, with an expiry; off while `secrets` is
 * empty). Everyone else is cut before any of their media is forwarded.
 */
export const publishSchema = z
  .strictObject({
    /** Addresses and CIDR blocks that may publish without a signature; `[]` = a signature is always needed. */
    allowIps: ipRangeListSchema.prefault([...DEFAULT_PUBLISH_ALLOW_IPS]),
    /** Publish signatures: a secret of their own, never one of `auth.securetoken.secrets`. */
    securetoken: publishSecuretokenSchema,
  })
  .prefault({});

/** The validated `publish` section. */
export type PublishConfig = z.output<typeof publishSchema>;

/**
 * A publish secret that is also a play secret would turn every play link into a publish credential:
 * reported at its key path. For the refinement of a schema holding both `auth` and `publish`.
 */
export function sharedPublishSecretIssues(config: {
  auth: { securetoken: { secrets: readonly string[] } };
  publish: PublishConfig;
}): { path: (string | number)[]; message: string }[] {
  const play = new Set(config.auth.securetoken.secrets);
  return config.publish.securetoken.secrets.flatMap((secret, i) =>
    play.has(secret)
      ? [
          {
            path: ["publish", "securetoken", "secrets", i],
            message: "is also in auth.securetoken.secrets: a play link would be a publish credential; give publishing a secret of its own",
          },
        ]
      : [],
  );
}
