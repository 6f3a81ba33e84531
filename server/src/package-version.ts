import { readFileSync } from "node:fs";

/**
 * The server package's version (`--version`), from its package.json: one folder up from `src/` (tsx)
 * and from `dist/` (the installed package) alike.
 */
export function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: string };
  return manifest.version ?? "unknown";
}
