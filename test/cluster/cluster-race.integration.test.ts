import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { waitFor } from "../helpers/wait-for.js";
import { recordExternalLog } from "../helpers/log-audit.js";
import { startRedis, type RedisServer } from "../helpers/redis-server.js";

interface Racer {
  proc: ChildProcess;
  lines: () => Record<string, unknown>[];
}

function startRacer(url: string, node: string, viewers: number, cap: number): Racer {
  const proc = spawn(process.execPath, ["--import", "tsx", "test/fixtures/cluster-racer.ts", url, node, String(viewers), String(cap)], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
    recordExternalLog(d.toString());
  });
  proc.stderr!.on("data", (d: Buffer) => recordExternalLog(d.toString()));
  return {
    proc,
    lines: () =>
      out
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe("the last slots across edges (two processes, real redis-server)", function () {
  this.timeout(120_000);
  let redis: RedisServer;
  const racers: Racer[] = [];

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const r of racers) if (r.proc.exitCode === null) r.proc.kill("SIGKILL");
    await redis?.stop();
  });

  it("200 viewers racing for 100 channel slots on two edges: exactly 100 get in", async () => {
    racers.push(startRacer(redis.url, "race-a", 100, 100), startRacer(redis.url, "race-b", 100, 100));
    for (const r of racers) {
      const ready = await waitFor("racer joined", () => r.lines().find((l) => l.event === "racer.ready"), 60_000);
      expect(ready.up).to.equal("up");
    }
    for (const r of racers) r.proc.stdin!.write("go\n");
    const done = await Promise.all(racers.map((r) => waitFor("racer done", () => r.lines().find((l) => l.event === "racer.done"), 60_000)));
    const admitted = done.map((d) => d.admitted as number);
    expect(
      done.map((d) => d.down),
      "no admission fell back on Redis being away",
    ).to.deep.equal([0, 0]);
    expect(admitted[0]! + admitted[1]!).to.equal(100);
    expect(done.map((d) => (d.refused as number) + (d.admitted as number))).to.deep.equal([100, 100]);
    // Each edge's view of the shared list, read after its own race ended, holds at least its own
    // admissions and never more than the cap.
    for (const d of done) expect(d.shared as number).to.be.within(d.admitted as number, 100);
    for (const r of racers) r.proc.stdin!.write("stop\n");
  });
});
