#!/usr/bin/env node
// Prints a signed temporary link (securetoken) for a URL. Installed as the `make-link` command (in the
// repository: `npm run make-link -- …`):
//   make-link --url http://127.0.0.1:8000/live/test/index.m3u8 --ip 127.0.0.1 --ttl 3600 --secret quickstart-secret
// Options: --format astra|flussonic|nms (default astra); omit --ip when the server runs with bindIp: false;
// --max-lifetime <seconds> (default 86400): the server's maxLifetimeSec; a longer --ttl is refused.
// --publish makes a publish link (publish.securetoken, its own secret), valid for RTMP and FLV publishing:
//   make-link --publish --url rtmp://127.0.0.1:1935/live/cam1 --ttl 3600 --secret <publish secret>
import { parseArgs } from "node:util";
import { DEFAULT_MAX_LINK_LIFETIME_SEC, SECURETOKEN_FORMATS, type SecureTokenFormatName } from "../securetoken/securetoken-schema.js";
import { VaError } from "../core/errors.js";
import { makeSecureLink } from "../securetoken/make-secure-link.js";

const USAGE =
  "usage: make-link --url <url> --secret <secret> [--ttl <seconds, default 3600>] [--ip <viewer ip>] [--format astra|flussonic|nms] [--publish] [--max-lifetime <the server's maxLifetimeSec, default 86400>]";

function main(argv: string[]): number {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        url: { type: "string" },
        secret: { type: "string" },
        ttl: { type: "string", default: "3600" },
        ip: { type: "string" },
        format: { type: "string", default: "astra" },
        "max-lifetime": { type: "string", default: String(DEFAULT_MAX_LINK_LIFETIME_SEC) },
        publish: { type: "boolean", default: false },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (error) {
    // A stray argument may well be the secret itself (`--secret` forgotten): say so without echoing it.
    const positional = (error as { code?: string }).code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL";
    console.error(
      `${positional ? "unexpected argument (not shown: it may be a secret); every value needs its --option" : (error as Error).message}\n${USAGE}`,
    );
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.url === undefined || values.secret === undefined) {
    console.error(`--url and --secret are required\n${USAGE}`);
    return 2;
  }
  if (!(SECURETOKEN_FORMATS as readonly string[]).includes(values.format)) {
    console.error(`--format must be one of ${SECURETOKEN_FORMATS.join(", ")}`);
    return 2;
  }
  try {
    const link = makeSecureLink({
      url: values.url,
      secret: values.secret,
      lifetimeSec: Number(values.ttl),
      maxLifetimeSec: Number(values["max-lifetime"]),
      format: values.format as SecureTokenFormatName,
      publish: values.publish,
      ...(values.ip !== undefined ? { ip: values.ip } : {}),
    });
    console.log(link);
    return 0;
  } catch (error) {
    if (!(error instanceof VaError)) throw error;
    console.error(error.message);
    return 2;
  }
}

process.exitCode = main(process.argv.slice(2));
