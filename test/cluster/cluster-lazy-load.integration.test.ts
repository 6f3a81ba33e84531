import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { freePort } from "../helpers/free-port.js";

/** Runs the child with a configuration and returns what it printed about the Redis client. */
function redisLoadedWith(config: unknown): { loaded: boolean; cluster: string | null } {
  const run = spawnSync(process.execPath, ["--import", "tsx", "test/fixtures/redis-loaded-child.ts", JSON.stringify(config)], {
    encoding: "utf8",
    timeout: 90_000,
  });
  const line = run.stdout.split("\n").find((l) => l.includes('"redis.loaded"'));
  if (line === undefined) throw new Error(`the child printed no result: ${run.stdout}${run.stderr}`);
  const { loaded, cluster } = JSON.parse(line) as { loaded: boolean; cluster: string | null };
  return { loaded, cluster };
}

describe("the Redis client is loaded only with a cluster section", function () {
  this.timeout(120_000);

  it("without `cluster`: never loaded; with it: loaded (and down, nothing listens on the port)", async () => {
    expect(redisLoadedWith({})).to.deep.equal({ loaded: false, cluster: null });
    const closed = await freePort();
    expect(redisLoadedWith({ cluster: { redis: `redis://127.0.0.1:${closed}`, nodeId: "lazy", timeoutMs: 100 } })).to.deep.equal({
      loaded: true,
      cluster: "down",
    });
  });
});
