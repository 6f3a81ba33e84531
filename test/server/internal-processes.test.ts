import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testChannel } from "../helpers/test-channel.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";
import { buildServer } from "../../server/src/build-server.js";
import { serverConfigSchema } from "../../server/src/server-config-schema.js";
import { parseConfig } from "../../plugin/src/config/parse-config.js";

describe("the bundled server's publish section", function () {
  this.timeout(20_000);

  async function buildWith(publish: Record<string, unknown> | undefined): Promise<ReturnType<typeof createCapturingLogger>> {
    const logs = createCapturingLogger();
    const dataDir = mkdtempSync(join(tmpdir(), "va-publish-ignored-"));
    const input = {
      server: { bind: "127.0.0.1", rtmpPort: 0, httpPort: 0, dataDir },
      channels: [testChannel("test")],
      ...(publish === undefined ? {} : { publish }),
    };
    const server = buildServer(parseConfig(serverConfigSchema, input), { logger: logs.logger });
    await server.auth.detach(); // built, never started: only the gate on NMS's classes to undo
    rmSync(dataDir, { recursive: true, force: true });
    return logs;
  }

  it("is said at build to be unused when it opens publishing (the server publishes only its own channels)", async () => {
    expect((await buildWith(undefined)).events("server.publish_ignored")).to.have.length(0);
    expect((await buildWith({ allowIps: ["127.0.0.1", "::1"] })).events("server.publish_ignored")).to.have.length(0);
    expect((await buildWith({ allowIps: ["10.0.0.0/8"] })).events("server.publish_ignored")).to.have.length(1);
    expect(
      (await buildWith({ securetoken: { secrets: ["a-publish-secret-0123456789"] } })).events("server.publish_ignored"),
    ).to.have.length(1);
  });
});
