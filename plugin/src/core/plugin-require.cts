/**
 * `require` as seen from the plugin's own files, in both builds (this file is CommonJS in each: the
 * ESM build has no `require`, the CommonJS build no `import.meta`). It loads the optional packages a
 * feature needs only when that feature is on (better-sqlite3 for statistics), and reads Node's module
 * cache to find the copy of a host server an instance came from.
 */
export const pluginRequire: NodeJS.Require = require;

/** The folder of this file: `plugin/src/core` in the sources, the bundle's folder once built (`dist/esm/chunks`, `dist/cjs`). */
export const pluginCoreDir: string = __dirname;
