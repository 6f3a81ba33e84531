import { expect } from "chai";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { attachViewerAuth, NmsInstanceError, NmsUnsupportedVersionError } from "../../plugin/src/index.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";

const ROOT = resolve(import.meta.dirname, "../..");

describe("NMS 2.7 adapter", function () {
  this.timeout(90000);

  describe("attach refuses what it cannot prove, before changing anything", () => {
    it("an object that no node-media-server module made", () => {
      expect(() => attachViewerAuth({ run() {} }, {}, { logger: createCapturingLogger().logger })).to.throw(
        NmsInstanceError,
        /2\.7\.4 \|\| 4\.4\.3/,
      );
    });

    it("a 2.x release other than 2.7.4, naming the supported releases", () => {
      // A copy of the installed 2.7.4 whose package.json says 2.6.0, inside the repo so its dependencies resolve.
      const dir = mkdtempSync(join(ROOT, ".tmp-nms26-"));
      try {
        const copy = join(dir, "node_modules", "node-media-server");
        cpSync(join(ROOT, "node_modules", "node-media-server-2"), copy, { recursive: true, dereference: true });
        const manifest = JSON.parse(readFileSync(join(copy, "package.json"), "utf8")) as { version: string };
        writeFileSync(join(copy, "package.json"), JSON.stringify({ ...manifest, version: "2.6.0" }));
        const OldNms = createRequire(join(dir, "app.js"))("node-media-server") as new (config: object) => object;
        const old = new OldNms({ rtmp: { port: 1 }, http: { port: 1 } });
        expect(() => attachViewerAuth(old, {}, { logger: createCapturingLogger().logger })).to.throw(
          NmsUnsupportedVersionError,
          "node-media-server 2.6.0 is not supported; supported releases: 2.7.4 || 4.4.3",
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
