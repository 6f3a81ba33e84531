#!/usr/bin/env node
// Prints an scrypt hash for a user's `password` key. Reads the password from stdin (one line), so it
// stays out of shell history and the process list. Installed as the `hash-password` command (in the
// repository: `npm run -s hash-password`):
//   echo -n 'demo' | hash-password
import { hashPassword } from "../users/password-hash.js";

const USAGE =
  "usage: echo -n '<password>' | hash-password (reads the password from stdin, prints its scrypt hash for a user's password key)";

async function main(args: readonly string[]): Promise<number> {
  if (args.length === 1 && (args[0] === "--help" || args[0] === "-h")) {
    console.log(USAGE);
    return 0;
  }
  if (args.length > 0) {
    // Never echo it: an argument may be the password itself, typed where it does not belong.
    console.error(`unexpected argument (not shown: it may be a secret); the password is read from stdin\n${USAGE}`);
    return 2;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const password = Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
  if (password === "") {
    console.error(USAGE);
    return 2;
  }
  console.log(await hashPassword(password));
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
