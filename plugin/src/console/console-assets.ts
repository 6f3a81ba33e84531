import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, extname, join } from "node:path";
import { pluginCoreDir, pluginRequire } from "../core/plugin-require.cjs";

/** One file the console serves: its bytes (read once at start) and content type. */
export interface ConsoleAsset {
  body: Buffer;
  contentType: string;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

/**
 * Third-party modules the console loads, each one exact file (`package:path`) of an installed package (served under
 * `vendor/`): preact + htm in one ES module (the UI without a build step; a dependency of the plugin) and
 * hls.js's ES build for the preview player (an optional peer: 32 MB an app without the console's preview
 * should not carry; the bundled server depends on it). Nothing else under node_modules is reachable.
 */
const VENDOR_FILES: Readonly<Record<string, string>> = {
  "vendor/htm-preact.js": "htm:preact/standalone.module.js",
  "vendor/hls.mjs": "hls.js:dist/hls.min.mjs",
};
/** Vendor files the console works without: the preview then says which package to install. */
const OPTIONAL_VENDOR_FILES: ReadonlySet<string> = new Set(["vendor/hls.mjs"]);

/**
 * The console's files by path under `/console/`: every file directly in the package's `console/`
 * folder (html, js, css, svg) plus VENDOR_FILES. Read once, so a request can only name a key of this
 * table: no directory listing, no path resolution at request time, hence no traversal.
 */
export function loadConsoleAssets(): Map<string, ConsoleAsset> {
  const assets = new Map<string, ConsoleAsset>();
  const folder = consoleFolder();
  for (const name of readdirSync(folder)) {
    const type = CONTENT_TYPES[extname(name)];
    const file = join(folder, name);
    if (type === undefined || !statSync(file).isFile()) continue;
    assets.set(name, { body: readFileSync(file), contentType: type });
  }
  for (const [name, specifier] of Object.entries(VENDOR_FILES)) {
    const [pkg, file] = specifier.split(":") as [string, string];
    if (OPTIONAL_VENDOR_FILES.has(name) && !isInstalled(pkg)) continue;
    // The source map reference would make a browser's developer tools ask for a file that is not served.
    const text = readFileSync(join(packageRoot(pkg), file), "utf8").replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n");
    assets.set(name, { body: Buffer.from(text), contentType: CONTENT_TYPES[".js"]! });
  }
  return assets;
}

function isInstalled(pkg: string): boolean {
  try {
    pluginRequire.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/**
 * An installed package's folder, found from its resolved entry point: a package's `exports` may not list
 * the file the console needs (htm's standalone module), so the file is joined to the folder instead.
 */
function packageRoot(pkg: string): string {
  let folder = dirname(pluginRequire.resolve(pkg));
  while (!isPackageFolder(folder, pkg)) {
    const parent = dirname(folder);
    if (parent === folder) throw new Error(`the console needs the package ${pkg}, which is not installed`);
    folder = parent;
  }
  return folder;
}

function isPackageFolder(folder: string, pkg: string): boolean {
  const manifest = join(folder, "package.json");
  return existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === pkg;
}

/**
 * The console's folder, found by walking up from this module to the first `console/index.html`: the
 * repository's `console/` from the sources (`plugin/src/core`), the package's own `console/` from its
 * bundles (`dist/esm/chunks`, `dist/cjs`).
 */
function consoleFolder(): string {
  for (let dir = pluginCoreDir, up = 0; up < 6; up++, dir = dirname(dir)) {
    const folder = join(dir, "console");
    if (existsSync(join(folder, "index.html"))) return folder;
  }
  throw new Error("the console's files (console/index.html) are missing from the package");
}
