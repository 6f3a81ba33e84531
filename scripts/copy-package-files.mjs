// Copies into a workspace package the repository files it ships (npm packs only what is inside the
// package's folder), before `npm pack`; `--clean` removes the copies afterwards, so the working tree
// never holds two versions of a file.
import { cpSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const COMMON = ["LICENSE", "CHANGELOG.md", "schema"];
const SHIPPED = {
  // The console's files: the plugin serves them on the management API.
  plugin: [...COMMON, "console"],
  // The quick starts, the deployment kit and the reference pages, for the operator who installs the command.
  server: [
    ...COMMON,
    "docs",
    "samples/quickstart.yaml",
    "samples/quickstart-users.yaml",
    "samples/config.sample.yaml",
    "samples/ladder.yaml",
    "samples/http-backend.yaml",
    "samples/ministra-backend.yaml",
    "samples/smarty-backend.yaml",
    "samples/iptvportal-backend.yaml",
    "samples/nginx-edge.conf",
    "samples/grafana-dashboard.json",
    "samples/nms4-app.mjs",
    "samples/nms2-app.js",
    "samples/systemd",
    "samples/container",
  ],
};
const [name, mode] = process.argv.slice(2);
const files = SHIPPED[name];
if (files === undefined) throw new Error(`usage: copy-package-files.mjs plugin|server [--clean]`);
const top = new Set(files.map((f) => f.split("/")[0]));
for (const entry of top) rmSync(join(repo, name, entry), { recursive: true, force: true });
if (mode !== "--clean") {
  for (const file of files) {
    cpSync(join(repo, file), join(repo, name, file), { recursive: true, filter: (src) => !src.includes("/docs/console") });
  }
}
