// Builds the plugin package (plugin/dist) from plugin/src:
// - dist/esm: ES modules for the public entry, the server's entry (server-kit) and the three commands,
//   with the code they share in common chunks, so every entry sees one copy of each class;
// - dist/cjs/index.js: the public entry as one CommonJS file, for NMS 2.7 apps that `require` it;
// - dist/types and dist/cjs/types: declarations from tsc (the CommonJS copy under a package.json that
//   marks it CommonJS, so TypeScript reads each copy as its format).
// The pure-JavaScript dependencies (pino, undici, prom-client, lru-cache, yaml, jose, ipaddr.js,
// proxy-addr) are bundled in: an app that installs the plugin gets one small package instead of some
// twenty (docs/architecture.md, "Packages"). zod stays a dependency because the public types are its
// types; node-media-server and every optional peer stay outside and are loaded from the app.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const plugin = join(dirname(fileURLToPath(import.meta.url)), "../plugin");
const dist = join(plugin, "dist");
const EXTERNAL = [
  "zod",
  "node-media-server",
  "node-media-server/*",
  "ws",
  "better-sqlite3",
  "redis",
  "maxmind",
  "pino-pretty",
  "hls.js",
  "htm",
];
// ESM has no `require`, `__filename` or `__dirname`; the CommonJS parts bundled in (and the plugin's
// own plugin-require.cts) use them, so each ES module file defines them from its own URL.
const ESM_SHIM = [
  'import { createRequire as __vaCreateRequire } from "node:module";',
  'import { fileURLToPath as __vaFileURLToPath } from "node:url";',
  'import { dirname as __vaDirname } from "node:path";',
  "const require = __vaCreateRequire(import.meta.url);",
  "const __filename = __vaFileURLToPath(import.meta.url);",
  "const __dirname = __vaDirname(__filename);",
].join("\n");
// Whitespace and syntax are minified, names are kept: stack traces still name our functions.
const COMMON = {
  bundle: true,
  platform: "node",
  target: "node20.18",
  external: EXTERNAL,
  logLevel: "warning",
  legalComments: "none",
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
};

/**
 * The largest bundled packages go in one CommonJS file each (`dist/vendor/<name>.cjs`) that the ESM and the
 * CommonJS bundles share through the package's own name (`nms-viewer-auth/vendor/<name>`), instead of a copy
 * in each bundle: undici alone is about 750 KB.
 */
const VENDORED = ["undici", "yaml", "prom-client"];
const sharedVendor = {
  name: "shared-vendor",
  setup(builder) {
    builder.onResolve({ filter: new RegExp(`^(${VENDORED.join("|")})$`) }, (args) => ({
      path: `nms-viewer-auth/vendor/${args.path}`,
      external: true,
    }));
  },
};

rmSync(dist, { recursive: true, force: true });
const vendorInputs = [];
for (const name of VENDORED) {
  // An ES module naming what the plugin imports, so that the CommonJS output lists those names where
  // Node's CommonJS-to-ESM interop finds them.
  const vendor = await build({
    ...COMMON,
    metafile: true,
    stdin: { contents: `export { ${importedNames(name).join(", ")} } from "${name}";`, resolveDir: plugin, loader: "js" },
    format: "cjs",
    outfile: join(dist, `vendor/${name}.cjs`),
  });
  vendorInputs.push(...Object.keys(vendor.metafile.inputs));
}
const esm = await build({
  ...COMMON,
  plugins: [sharedVendor],
  metafile: true,
  entryPoints: {
    index: join(plugin, "src/index.ts"),
    "server-kit": join(plugin, "src/server-kit.ts"),
    "cli/make-link": join(plugin, "src/cli/make-link.ts"),
    "cli/hash-password": join(plugin, "src/cli/hash-password.ts"),
    "cli/make-token": join(plugin, "src/cli/make-token.ts"),
  },
  format: "esm",
  splitting: true,
  outdir: join(dist, "esm"),
  chunkNames: "chunks/[name]-[hash]",
  banner: { js: ESM_SHIM },
});
await build({
  ...COMMON,
  plugins: [sharedVendor],
  entryPoints: [join(plugin, "src/index.ts")],
  format: "cjs",
  outfile: join(dist, "cjs/index.js"),
});

writeFileSync(join(dist, "THIRD-PARTY-LICENSES.txt"), thirdPartyLicenses([...Object.keys(esm.metafile.inputs), ...vendorInputs]));

const tsc = spawnSync(process.execPath, [join(plugin, "../node_modules/typescript/bin/tsc"), "-p", join(plugin, "tsconfig.build.json")], {
  stdio: "inherit",
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
refuseDeclarationsNaming(join(dist, "types"), [
  ...Object.keys(pluginManifest().devDependencies),
  ...Object.keys(pluginManifest().peerDependenciesMeta),
]);
cpSync(join(dist, "types"), join(dist, "cjs/types"), { recursive: true });
mkdirSync(join(dist, "cjs"), { recursive: true });
writeFileSync(join(dist, "cjs/package.json"), JSON.stringify({ type: "commonjs" }, null, 2) + "\n");

/** The license texts of the packages bundled in (their notices must travel with their code). */
function thirdPartyLicenses(inputs) {
  const packages = new Set();
  for (const input of inputs) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match !== null) packages.add(match[1]);
  }
  const sections = [];
  for (const name of [...packages].sort()) {
    const folder = join(plugin, "../node_modules", name);
    const { version, license } = JSON.parse(readFileSync(join(folder, "package.json"), "utf8"));
    const file = readdirSync(folder).find((f) => /^(licen[cs]e|copying)/i.test(f));
    const text =
      file !== undefined && existsSync(join(folder, file)) ? readFileSync(join(folder, file), "utf8").trim() : `License: ${license}`;
    sections.push(`${name} ${version} (${license})\n\n${text}\n`);
  }
  return `Packages bundled into this package's dist/ files, with their licenses.\n\n${sections.join("\n" + "-".repeat(72) + "\n\n")}`;
}

function pluginManifest() {
  return JSON.parse(readFileSync(join(plugin, "package.json"), "utf8"));
}

/**
 * A declaration that imports a bundled package (not installed with the plugin) or an optional peer (maybe
 * not installed) breaks an app's type-check (TS2307 with skipLibCheck off): the build refuses it, naming
 * the files, so the type is spelled in the plugin instead (as Logger, BackendDispatcher, MetricJson are).
 */
function refuseDeclarationsNaming(folder, packages) {
  const names = packages.map((name) => name.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join("|");
  const pattern = new RegExp(`(from|import\\()\\s*"(${names})(/[^"]*)?"`);
  const offending = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".d.ts") && pattern.test(readFileSync(path, "utf8"))) offending.push(path.slice(folder.length + 1));
    }
  };
  walk(folder);
  if (offending.length > 0) {
    console.error(`declarations that name a bundled package or an optional peer (spell the type in the plugin): ${offending.join(", ")}`);
    process.exit(1);
  }
}

/** The value names the plugin's sources import from `pkg` (`import { a, b, type T } from "pkg"`: a and b). */
function importedNames(pkg) {
  const names = new Set();
  const pattern = new RegExp(`import\\s*\\{([^}]*)\\}\\s*from\\s*"${pkg}"`, "g");
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.c?ts$/.test(entry.name)) {
        for (const match of readFileSync(path, "utf8").matchAll(pattern)) {
          for (const part of match[1].split(",").map((p) => p.trim())) {
            if (part !== "" && !part.startsWith("type ")) names.add(part.split(/\s+as\s+/)[0]);
          }
        }
      }
    }
  };
  walk(join(plugin, "src"));
  if (names.size === 0) throw new Error(`the plugin imports nothing from ${pkg}: take it off VENDORED`);
  return [...names].sort();
}
