// Prints a new API token (256 random bits, base64url) for `api.token` or `api.previousTokens`:
//   npm run -s make-token
// The bundled server's bin does the same: `nms-viewer-auth make-token`.
import { generateApiToken } from "../api/api-token.js";

/** Writes one new token and a newline to `out`; 0, or 2 for an unexpected argument. */
export function makeTokenCommand(args: readonly string[], out: (text: string) => void, err: (text: string) => void): number {
  if (args.length > 0) {
    // Never echo it: a stray argument may be a secret pasted in the wrong place.
    err("usage: npm run -s make-token (no arguments; prints a new 256-bit API token)\n");
    return 2;
  }
  out(`${generateApiToken()}\n`);
  return 0;
}

// Run as a script (npm run make-token), not when the bundled server's bin imports it.
if (process.argv[1] !== undefined && /make-token\.[cm]?[jt]s$/.test(process.argv[1])) {
  process.exitCode = makeTokenCommand(
    process.argv.slice(2),
    (t) => process.stdout.write(t),
    (t) => process.stderr.write(t),
  );
}
