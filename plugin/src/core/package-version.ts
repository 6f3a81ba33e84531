import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pluginCoreDir } from "./plugin-require.cjs";

/**
 * The package's version from its package.json, found by walking up from this module: the same code runs
 * from `plugin/src/core` (tsx) and from the package's bundles (`dist/esm/chunks`, `dist/cjs`), at different depths.
 */
export function packageVersion(): string {
  let dir = pluginCoreDir;
  for (;;) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "nms-viewer-auth" && typeof pkg.version === "string") return pkg.version;
    }
    const parent = dirname(dir);
    if (parent === dir) return "unknown";
    dir = parent;
  }
}
