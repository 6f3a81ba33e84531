import { expect } from "chai";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import NodeMediaServer from "node-media-server";
import {
  attachViewerAuth,
  createNms4Host,
  NmsIncompatibleError,
  NmsInstanceError,
  NmsUnsupportedVersionError,
  type PluginConfigInput,
} from "../../plugin/src/index.js";
import { SUPPORTED_NMS_RANGE } from "../../plugin/src/hosts/host-package.js";
import { runNms, type RunnableNms } from "../../plugin/src/hosts/nms4/run-nms.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";
import { httpGetFor } from "../helpers/flv-clients.js";
import { Context as repoContext } from "../helpers/nms4-internals.js";

/**
 * Attach gates the very instance it is given: NMS's internals come from the copy that instance was
 * created from, never from the plugin's own resolution of `node-media-server`. Here the plugin (run
 * from the repo) resolves the repo's NMS 4.4.3, while the instance comes from a second copy of the same
 * release in a folder of its own, as in an app whose node_modules holds two.
 */
describe("attach proves it gates the instance it was given (its own NMS copy)", function () {
  this.timeout(60000);
  const ATTACHED = Symbol.for("nms-viewer-auth.attached");
  let dir: string;
  let otherRoot: string;
  const quiet = (config: PluginConfigInput): PluginConfigInput => ({ log: { level: "silent", nmsLevel: "error" }, ...config });
  const deps = () => ({ logger: createCapturingLogger().logger });

  before(() => {
    // Inside the repo (git-ignored .tmp) so the copy's own dependencies (express, ws…) resolve.
    mkdirSync(resolve(".tmp"), { recursive: true });
    dir = mkdtempSync(join(resolve(".tmp"), "nms-copy-"));
    otherRoot = join(dir, "node_modules/node-media-server");
    cpSync(resolve("node_modules/node-media-server"), otherRoot, { recursive: true, dereference: true });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("gates an instance from another copy of NMS: a denied viewer gets 403 from that copy, and the plugin's own copy stays untouched", async () => {
    const OtherNms = createRequire(join(dir, "app.cjs"))("node-media-server") as typeof NodeMediaServer;
    expect(OtherNms, "a distinct copy").not.to.equal(NodeMediaServer);
    const nms = new OtherNms({ bind: "127.0.0.1", rtmp: { port: "0" }, http: { port: "0" }, store: { path: join(dir, "store") } });
    const auth = attachViewerAuth(nms, quiet({ auth: { defaultAction: "deny" } }), deps());
    try {
      expect((repoContext as unknown as Record<symbol, unknown>)[ATTACHED], "the plugin's own copy is not the one gated").not.to.equal(
        true,
      );
      const ports = await runNms(nms as unknown as RunnableNms);
      const refused = await httpGetFor(`http://127.0.0.1:${ports.http}/live/anything.flv`, 2000);
      expect(refused.status).to.equal(403);
      expect(refused.body.toString()).to.equal("Forbidden\n");
    } finally {
      await auth.detach();
      await nms.stop();
    }
  });

  it("finds the copy through an app's own subclass of NodeMediaServer, itself a module export", async () => {
    writeFileSync(
      join(dir, "app-nms.cjs"),
      `const NodeMediaServer = require("node-media-server");\nmodule.exports = class AppNms extends NodeMediaServer {};\n`,
    );
    const AppNms = createRequire(join(dir, "app.cjs"))("./app-nms.cjs") as typeof NodeMediaServer;
    const nms = new AppNms({ bind: "127.0.0.1", rtmp: { port: "0" }, http: { port: "0" }, store: { path: join(dir, "store-sub") } });
    const auth = attachViewerAuth(nms, quiet({ auth: { defaultAction: "deny" } }), deps());
    try {
      const ports = await runNms(nms as unknown as RunnableNms);
      expect((await httpGetFor(`http://127.0.0.1:${ports.http}/live/sub.flv`, 2000)).status).to.equal(403);
    } finally {
      await auth.detach();
      await nms.stop();
    }
  });

  it("refuses another release, naming the supported ones, from the version of the instance's own copy", () => {
    const manifest = join(otherRoot, "package.json");
    const original = readFileSync(manifest, "utf8");
    writeFileSync(manifest, JSON.stringify({ ...(JSON.parse(original) as object), version: "4.4.4" }));
    try {
      const OtherNms = createRequire(join(dir, "app.cjs"))("node-media-server") as typeof NodeMediaServer;
      const nms = new OtherNms({ store: { path: join(dir, "store-4.4.4") } });
      expect(() => attachViewerAuth(nms, quiet({}), deps())).to.throw(
        NmsUnsupportedVersionError,
        `node-media-server 4.4.4 is not supported; supported releases: ${SUPPORTED_NMS_RANGE}`,
      );
    } finally {
      writeFileSync(manifest, original);
    }
  });

  it("refuses what it cannot prove: a plain object, an imitation, an instance NMS no longer serves with; the NMS 4 adapter refuses a 2.7 instance", () => {
    expect(() => attachViewerAuth({}, quiet({}), deps())).to.throw(
      NmsInstanceError,
      /its class is not a module loaded with require or import/,
    );
    class Imitation {
      readonly httpServer = {};
    }
    expect(() => attachViewerAuth(new Imitation(), quiet({}), deps())).to.throw(NmsInstanceError);
    const stale = new NodeMediaServer({ store: { path: join(dir, "store-stale") } });
    const latest = new NodeMediaServer({ store: { path: join(dir, "store-latest") } });
    expect(() => attachViewerAuth(stale, quiet({}), deps())).to.throw(NmsInstanceError, /does not hold this instance's store/);
    expect(latest).to.be.instanceOf(NodeMediaServer);
    const Nms2 = createRequire(import.meta.url)("node-media-server-2") as new (config: object) => object;
    const nms2 = new Nms2({ rtmp: { port: 0 }, logType: 0 });
    expect(() => createNms4Host(nms2).probe()).to.throw(
      NmsIncompatibleError,
      /NMS 4 adapter was given a node-media-server 2\.7\.4 instance/,
    );
  });
});
