// Loaded into every test process (mocha's node-option) and, through NODE_OPTIONS, into every node process
// a test starts: a TypeScript source of this repository that imports the plugin by its package name
// (`nms-viewer-auth`, `nms-viewer-auth/server-kit`, as server/src does) gets the plugin's sources, never
// a build in plugin/dist that may be stale. Without it Node resolves the names through the workspace link
// in node_modules to plugin/dist, and a test would hold two copies of every plugin class (its own, from
// the sources, and the server's, from the build). Built code (server/dist) and installed packages
// (outside the repository) resolve as they would anywhere.
import { register } from "node:module";

register("./plugin-source-resolve.mjs", import.meta.url);
const self = `--import=${import.meta.url}`;
if (!(process.env.NODE_OPTIONS ?? "").includes(self)) process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} ${self}`.trim();
