import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import NodeMediaServer from "node-media-server";
import { AlreadyAttachedError, attachViewerAuth, ConfigError, type PluginConfigInput } from "../../plugin/src/index.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";

describe("attaching to NMS: refused setups leave nothing behind", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "va-attach-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const nmsWith = (extra: Record<string, unknown> = {}) =>
    new NodeMediaServer({ bind: "127.0.0.1", rtmp: { port: "0" }, http: { port: "0" }, store: { path: join(dir, "store") }, ...extra });
  const attach = (nms: NodeMediaServer, config: PluginConfigInput) =>
    attachViewerAuth(nms, { log: { level: "silent", nmsLevel: "error" }, ...config }, { logger: createCapturingLogger().logger });

  it("attaches once per process; after detach it attaches again", async () => {
    const nms = nmsWith();
    const first = attach(nms, {});
    expect(() => attach(nms, {})).to.throw(AlreadyAttachedError);
    await first.detach();
    await attach(nms, {}).detach();
  });

  it("refuses an HLS directory that NMS's static route serves (or that holds it), before attaching anything", async () => {
    const root = join(dir, "public");
    mkdirSync(join(root, "hls"), { recursive: true });
    const sighupListeners = process.listenerCount("SIGHUP");
    const users = { users: [{ login: "a", tokens: ["attach-test-token"], packages: ["*"] }] };
    for (const hlsDir of [join(root, "hls"), root, dir]) {
      const nms = nmsWith({ static: { router: "/static", root } });
      let error: unknown;
      try {
        attach(nms, { auth: users, hls: { dir: hlsDir } });
      } catch (caught) {
        error = caught;
      }
      expect(error, hlsDir).to.be.instanceOf(ConfigError);
      expect((error as ConfigError).issues[0]).to.include({ path: "hls.dir", value: hlsDir });
      expect((error as ConfigError).issues[0]!.message).to.match(/overlaps NMS's static root/);
    }
    expect(process.listenerCount("SIGHUP"), "no listener left by the refused attaches").to.equal(sighupListeners);
    // Nothing stayed attached: a correct setup attaches at once.
    const nms = nmsWith({ static: { router: "/static", root } });
    await attach(nms, { hls: { dir: join(dir, "private-hls") } }).detach();
  });
});
