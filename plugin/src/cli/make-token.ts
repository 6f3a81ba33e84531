#!/usr/bin/env node
// Prints a new API token (256 random bits, base64url) for `api.token`, `api.previousTokens` or
// `api.metricsToken`. Installed as the `make-token` command (in the repository: `npm run -s make-token`);
// the bundled server's bin does the same: `nms-viewer-auth make-token`.
import { realpathSync } from "node:fs";
import { generateApiToken } from "../api/api-token.js";

const USAGE = "usage: make-token (no arguments; prints a new 256-bit API token)\n";

/** Writes one new token and a newline to `out` (the usage for `--help`); 0, or 2 for an unexpected argument. */
export function makeTokenCommand(args: readonly string[], out: (text: string) => void, err: (text: string) => void): number {
  if (args.length === 1 && (args[0] === "--help" || args[0] === "-h")) {
    out(USAGE);
    return 0;
  }
  if (args.length > 0) {
    // Never echo it: a stray argument may be a secret pasted in the wrong place.
    err(USAGE);
    return 2;
  }
  out(`${generateApiToken()}\n`);
  return 0;
}

// Run as a script (npm run make-token, or the installed command: a link in node_modules/.bin, hence the
// real path), not when the bundled server's bin imports it.
if (process.argv[1] !== undefined && /make-token\.[cm]?[jt]s$/.test(realpathOf(process.argv[1]))) {
  process.exitCode = makeTokenCommand(
    process.argv.slice(2),
    (t) => process.stdout.write(t),
    (t) => process.stderr.write(t),
  );
}

function realpathOf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
