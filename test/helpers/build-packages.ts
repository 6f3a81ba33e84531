import { spawnSync } from "node:child_process";
import { resolve } from "node:path";

const REPO = resolve(import.meta.dirname, "../..");
/** The compiled server's bin, as the server package ships it. */
export const SERVER_BIN = "server/dist/main.js";
let built = false;

/**
 * Builds both workspace packages (`npm run build`: the plugin's bundles and declarations, then the
 * server, which resolves the plugin by its package name), once per test process: `npm start` and the
 * bin run the compiled server on the compiled plugin, as an installed package does.
 */
export function buildPackages(): void {
  if (built) return;
  const build = spawnSync("npm", ["run", "-s", "build"], { cwd: REPO, encoding: "utf8" });
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);
  built = true;
}
