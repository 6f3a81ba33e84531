import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { recordExternalLog } from "./helpers/log-audit.js";

// What an operator's existing NMS app does: plain Node (no tsx, no TypeScript), `import … from
// "nms-viewer-auth"`, one call before nms.run(). The package is built the way `npm install` builds it.
const APP = `
import NodeMediaServer from "node-media-server";
import http from "node:http";
import { once } from "node:events";
import { attachViewerAuth, VaError } from "nms-viewer-auth";

const nms = new NodeMediaServer({ bind: "127.0.0.1", rtmp: { port: "0" }, http: { port: "0" }, store: { path: process.argv[2] } });
const auth = attachViewerAuth(nms, { log: { level: "silent", nmsLevel: "error" }, auth: { defaultAction: "allow", denyIps: ["127.0.0.0/8"] } });
const server = nms.httpServer.httpServer;
const listening = once(server, "listening");
await nms.run();
await listening;
const status = await new Promise((done) => http.get({ host: "127.0.0.1", port: server.address().port, path: "/live/test.flv" }, (res) => { res.resume(); done(res.statusCode); }));
let configError = "";
try { attachViewerAuth(nms, { auth: { defaultAction: "maybe" } }); } catch (error) { configError = error instanceof VaError ? error.code : String(error); }
await auth.detach();
console.log(JSON.stringify({ status, configError }));
process.exit(0);
`;

describe("the built package, imported by a plain JavaScript NMS app", function () {
  this.timeout(120000);
  const scratch = resolve(".tmp");
  let dir: string;

  before(() => {
    const build = spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { encoding: "utf8" });
    expect(build.status, build.stdout + build.stderr).to.equal(0);
    mkdirSync(scratch, { recursive: true });
    // Inside the package folder, so `import "nms-viewer-auth"` resolves through package.json "exports".
    dir = mkdtempSync(join(scratch, "app-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("attaches with one call from JavaScript, and the compiled gate refuses a deny-listed viewer", () => {
    const app = join(dir, "app.mjs");
    writeFileSync(app, APP);
    const store = join(dir, "store");
    const run = spawnSync(process.execPath, [app, store], { encoding: "utf8", timeout: 60000 });
    recordExternalLog(run.stdout + run.stderr);
    expect(run.status, run.stderr).to.equal(0);
    const result = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as { status: number; configError: string };
    expect(result.status, "HTTP-FLV from a deny-listed address").to.equal(403);
    expect(result.configError, "a bad config is a ConfigError from the compiled code").to.equal("VA_ERR_CONFIG_INVALID");
  });
});
