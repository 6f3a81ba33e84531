import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { NmsIncompatibleError, NmsInstanceError } from "../core/errors.js";
import { pluginRequire } from "../core/plugin-require.cjs";

/** The node-media-server releases the plugin is tested against, one per supported line. */
export const SUPPORTED_NMS_VERSIONS = ["2.7.4", "4.4.3"] as const;
/** The same, as the peer dependency range in package.json (test/package/package-install.integration.test.ts checks they agree). */
export const SUPPORTED_NMS_RANGE = SUPPORTED_NMS_VERSIONS.join(" || ");

/**
 * The installed copy of a host server one instance was built from: its package folder, name and
 * version, and a `require` that loads files from that very folder (its internals, the same module
 * objects the instance uses).
 */
export interface HostPackage {
  /** The package folder, e.g. `/srv/app/node_modules/node-media-server`. */
  readonly root: string;
  /** The `name` in its package.json (an npm alias keeps the real name). */
  readonly name: string;
  readonly version: string;
  /** Loads a file of that copy, relative to its folder: `require("./src/core/context.js")`. */
  readonly require: NodeJS.Require;
}

/**
 * The package that defines `instance`'s class (or a class it extends), found in Node's module cache:
 * the module whose exports are that class. Throws NmsInstanceError when there is none (a bundled
 * or transpiled server, a plain object): without the server's own copy the gate could wrap a copy the
 * server never uses, and gate nothing.
 */
export function hostPackageOf(instance: object, packageName = "node-media-server"): HostPackage {
  const files = definingModuleFiles(instance);
  if (files.length === 0) {
    throw new NmsInstanceError(
      `its class is not a module loaded with require or import (a bundled server, or not a node-media-server instance; supported releases: ${SUPPORTED_NMS_RANGE})`,
    );
  }
  // An app's own subclass may be a module export too: the first class that lives in the package wins.
  for (const file of files) {
    const found = packageAbove(file, packageName);
    if (found !== undefined) return found;
  }
  throw new NmsInstanceError(`its class comes from ${files.join(", ")}, not from inside a ${packageName} package`);
}

/** The installed `packageName` as `require` (a module's own) resolves it: the copy that module would load. */
export function hostPackageResolvedBy(require: NodeJS.Require, packageName = "node-media-server"): HostPackage {
  const found = packageAbove(require.resolve(`${packageName}/package.json`), packageName);
  if (found === undefined) throw new NmsIncompatibleError(`${packageName} is not installed where expected`);
  return found;
}

/** Whether `version` is one the plugin supports. */
export function isSupportedNmsVersion(version: string): boolean {
  return (SUPPORTED_NMS_VERSIONS as readonly string[]).includes(version);
}

/** The files of the cached modules whose exports are the instance's class or a base class, nearest class first. */
function definingModuleFiles(instance: object): string[] {
  const classes: unknown[] = [];
  for (
    let proto = Object.getPrototypeOf(instance) as object | null;
    proto !== null && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto) as object | null
  ) {
    classes.push((proto as { constructor?: unknown }).constructor);
  }
  const files: string[] = [];
  for (const each of classes) {
    for (const module of Object.values(moduleCache())) {
      if (module !== undefined && module.exports === each) files.push(module.filename);
    }
  }
  return files;
}

/**
 * Node's CommonJS module cache. tsx run as `node --import tsx script.ts` (the benches) hands a `.cts`
 * module a `require` without `cache`; any `createRequire` gives the same process-wide cache.
 */
function moduleCache(): NodeJS.Dict<NodeJS.Module> {
  return pluginRequire.cache ?? createRequire(join(process.cwd(), "noop.js")).cache;
}

/** The nearest folder above `file` holding a package.json named `packageName`. */
function packageAbove(file: string, packageName: string): HostPackage | undefined {
  for (let dir = dirname(file); dirname(dir) !== dir; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    let pkg: { name?: unknown; version?: unknown };
    try {
      pkg = JSON.parse(readFileSync(manifest, "utf8")) as typeof pkg;
    } catch {
      continue; // no package.json here (or an unreadable one): keep walking up
    }
    if (pkg.name !== packageName) continue;
    if (typeof pkg.version !== "string") throw new NmsIncompatibleError(`${manifest} has no version`);
    return { root: dir, name: packageName, version: pkg.version, require: createRequire(manifest) };
  }
  return undefined;
}
