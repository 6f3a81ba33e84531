import { expect } from "chai";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/**
 * The plugin's floors, lowest first (docs/architecture.md). A module may import from a lower floor
 * only; the one exception is a type-only import from `core`, which every floor may use. The composition
 * root (files directly in plugin/src) sits on top.
 */
const FLOORS: Readonly<Record<string, number>> = {
  net: 0,
  core: 1,
  config: 2,
  chain: 2,
  "brute-force": 3,
  origin: 3,
  geo: 3,
  backend: 3,
  stats: 3,
  events: 3,
  securetoken: 4,
  sessions: 5,
  publish: 5,
  console: 5,
  users: 6,
  cluster: 6,
  gate: 6,
  hls: 7,
  jwt: 7,
  metrics: 7,
  api: 8,
  hosts: 8,
  explain: 8,
  cli: 9,
  ".": 10,
};

const ROOT = resolve(import.meta.dirname, "../..");
/** A deep import of node-media-server's files, by its name or an npm alias of it (`node-media-server-2`). */
const NMS_INTERNALS = /^node-media-server(-[\w.-]+)?\/src\//;
const PLUGIN = join(ROOT, "plugin/src");
/**
 * The plugin's declared surface for the bundled server and the benches: the public entry and the
 * server-facing one (docs/architecture.md), by path without its extension (`.js` and `.ts` both name them).
 */
const SURFACE: ReadonlySet<string> = new Set([join(PLUGIN, "index"), join(PLUGIN, "server-kit")]);

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === "node_modules" || name === "dist" || name.startsWith(".")) continue;
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|mts|cts|js|mjs|cjs)$/.test(name) && !name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

interface ImportLine {
  from: string;
  typeOnly: boolean;
}

/** Every static and dynamic import/export-from specifier of a file, with whether it is type-only. */
function importsOf(file: string): ImportLine[] {
  const text = readFileSync(file, "utf8");
  const out: ImportLine[] = [];
  for (const match of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^;]*?\sfrom\s+"([^"]+)"/gms))
    out.push({ from: match[3]!, typeOnly: match[2] !== undefined });
  for (const match of text.matchAll(/^\s*import\s+"([^"]+)"/gm)) out.push({ from: match[1]!, typeOnly: false });
  for (const match of text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)) out.push({ from: match[1]!, typeOnly: false });
  for (const match of text.matchAll(/\brequire\(\s*"([^"]+)"\s*\)/g)) out.push({ from: match[1]!, typeOnly: false });
  return out;
}

/** The floor folder of a plugin file: its first folder under plugin/src, or "." for the root. */
function folderOf(file: string): string {
  const parts = relative(PLUGIN, file).split("/");
  return parts.length === 1 ? "." : parts[0]!;
}

/**
 * Whether a file under server/ or bench/ may import `specifier`: anything that is not the plugin, and of
 * the plugin only its two entries: by package name (`nms-viewer-auth`, `nms-viewer-auth/server-kit`), or
 * for bench/ also by a relative path into plugin/src. The server is a package of its own that depends on
 * the plugin's package, so it may not reach into plugin/ by path.
 */
function surfaceAllows(file: string, specifier: string): boolean {
  if (specifier === "nms-viewer-auth" || specifier === "nms-viewer-auth/server-kit") return true;
  if (specifier.startsWith("nms-viewer-auth/")) return false;
  if (!specifier.startsWith(".")) return true;
  if (file.startsWith(join(ROOT, "server") + "/") && resolve(dirname(file), specifier).startsWith(join(ROOT, "plugin") + "/")) return false;
  const target = resolve(dirname(file), specifier);
  if (!target.startsWith(join(ROOT, "plugin") + "/")) return true;
  return SURFACE.has(target.replace(/\.(js|ts|mjs|mts)$/, ""));
}

describe("architecture: floors and the host adapter boundary", () => {
  const pluginFiles = sourceFiles(PLUGIN);

  it("every plugin folder has a floor", () => {
    const folders = new Set(pluginFiles.map(folderOf));
    for (const folder of folders)
      expect(
        FLOORS,
        `plugin/src/${folder} needs a floor in test/architecture/architecture.test.ts and docs/architecture.md`,
      ).to.have.property(folder);
  });

  it("has the floors of docs/architecture.md's table, folder for folder", () => {
    const text = readFileSync(join(ROOT, "docs/architecture.md"), "utf8");
    const table = text.slice(text.indexOf("| floor | folders |"));
    const documented: Record<string, number> = {};
    for (const row of table.split("\n").slice(2)) {
      const cells = /^\| (\d+) \| (.*) \|$/.exec(row);
      if (cells === null) break;
      const folders = [...cells[2]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!).filter((name) => name !== "plugin/src");
      for (const folder of folders) documented[folder] = Number(cells[1]);
      if (cells[2]!.startsWith("the composition root")) documented["."] = Number(cells[1]);
    }
    expect(documented).to.deep.equal({ ...FLOORS });
  });

  it("draws no arrow from a lower floor to a higher one (type-only imports of core excepted), so no folder cycles", () => {
    const upward: string[] = [];
    for (const file of pluginFiles) {
      const from = folderOf(file);
      for (const line of importsOf(file)) {
        if (!line.from.startsWith(".")) continue;
        const target = resolve(dirname(file), line.from);
        if (!target.startsWith(PLUGIN)) continue;
        const to = folderOf(target);
        if (to === from) continue;
        if (to === "core" && line.typeOnly) continue;
        if (FLOORS[to]! >= FLOORS[from]!)
          upward.push(`${relative(ROOT, file)} -> ${relative(ROOT, target)} (${from} ${FLOORS[from]} -> ${to} ${FLOORS[to]})`);
      }
    }
    expect(upward).to.deep.equal([]);
  });

  it("keeps the server-facing entry (plugin/src/server-kit.ts) on the composition-root floor", () => {
    const kit = pluginFiles.find((file) => relative(PLUGIN, file) === "server-kit.ts");
    expect(kit, "plugin/src/server-kit.ts, the server-facing entry, must sit directly in plugin/src").to.not.equal(undefined);
    expect(FLOORS[folderOf(kit!)]).to.equal(FLOORS["."]);
  });

  it("lets server/ and bench/ import the plugin only through its two entries, the server by package name (type-only imports included)", () => {
    const around: string[] = [];
    for (const file of [...sourceFiles(join(ROOT, "server")), ...sourceFiles(join(ROOT, "bench"))]) {
      for (const line of importsOf(file)) {
        if (!surfaceAllows(file, line.from))
          around.push(
            `${relative(ROOT, file)} imports "${line.from}"${line.typeOnly ? " (type-only)" : ""}: use nms-viewer-auth or nms-viewer-auth/server-kit`,
          );
      }
    }
    expect(around).to.deep.equal([]);
  });

  it("imports node-media-server's internals (node-media-server/src/…, or an alias such as node-media-server-2/src/…) only under plugin/src/hosts/", () => {
    const outside: string[] = [];
    const everywhere = [
      ...sourceFiles(join(ROOT, "plugin")),
      ...sourceFiles(join(ROOT, "server")),
      ...sourceFiles(join(ROOT, "bench")),
      ...sourceFiles(join(ROOT, "test")),
      ...sourceFiles(join(ROOT, "samples")),
    ];
    for (const file of everywhere) {
      if (file.startsWith(join(PLUGIN, "hosts") + "/")) continue;
      for (const line of importsOf(file)) if (NMS_INTERNALS.test(line.from)) outside.push(`${relative(ROOT, file)}: ${line.from}`);
    }
    expect(outside).to.deep.equal([]);
  });

  it("keeps each host line in its own folder: hosts/<line>/ imports no other line's folder, and only the line's own folder names NMS's internals", () => {
    const crossing: string[] = [];
    const hostsDir = join(PLUGIN, "hosts");
    for (const file of pluginFiles.filter((f) => f.startsWith(hostsDir + "/"))) {
      const own = relative(hostsDir, file).split("/");
      const line = own.length > 1 ? own[0] : undefined; // undefined: a shared file directly in hosts/
      for (const imported of importsOf(file)) {
        if (line === undefined && NMS_INTERNALS.test(imported.from))
          crossing.push(`${relative(ROOT, file)}: ${imported.from} (shared host files load no NMS internals)`);
        if (!imported.from.startsWith(".")) continue;
        const target = relative(hostsDir, resolve(dirname(file), imported.from)).split("/");
        if (target.length > 1 && !target[0]!.startsWith("..") && target[0] !== line && line !== undefined)
          crossing.push(`${relative(ROOT, file)} -> hosts/${target.join("/")}`);
      }
    }
    expect(crossing).to.deep.equal([]);
  });
});
