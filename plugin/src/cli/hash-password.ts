// Prints an scrypt hash for a user's `password` key. Reads the password from stdin (one line), so it
// stays out of shell history and the process list:
//   echo -n 'demo' | npm run -s hash-password
import { hashPassword } from "../users/password-hash.js";

async function main(): Promise<number> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const password = Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
  if (password === "") {
    console.error("usage: echo -n '<password>' | npm run -s hash-password");
    return 2;
  }
  console.log(await hashPassword(password));
  return 0;
}

process.exitCode = await main();
