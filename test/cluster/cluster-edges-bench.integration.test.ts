import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnLogged } from "../helpers/spawned-process.js";
import { isRunning } from "../helpers/process-tree.js";
import { waitUntil } from "../helpers/wait-for.js";

/**
 * The twenty-edge bench (bench/cluster-edges.bench.ts) at a tiny size: 3 edge processes, 60 sessions, a
 * 2 s quiet window. It must finish cleanly, print every figure, admit exactly the race's 10 slots each
 * round, and leave no process behind. The full size is run by hand (bench/README.md).
 */
describe("the cluster-edges bench at a tiny size (3 edges, one redis-server)", function () {
  this.timeout(240_000);
  let resultsDir: string;

  before(() => {
    resultsDir = mkdtempSync(join(tmpdir(), "va-bench-edges-results-"));
  });
  after(() => rmSync(resultsDir, { recursive: true, force: true }));

  it("runs to exit 0, prints the figures, admits exactly the slots and stops every process", async () => {
    const bench = spawnLogged("env", [
      "VA_BENCH_EDGES=3",
      "VA_BENCH_SESSIONS=60",
      "VA_BENCH_QUIET_SEC=2",
      "VA_BENCH_REVOKE_ROUNDS=4",
      "VA_BENCH_RACE_ROUNDS=3",
      `VA_BENCH_RESULTS_DIR=${resultsDir}`,
      process.execPath,
      "--import",
      "tsx",
      "bench/cluster-edges.bench.ts",
    ]);
    const timer = setTimeout(() => bench.proc.kill("SIGINT"), 200_000);
    const code = await bench.exit;
    clearTimeout(timer);
    const output = bench.output();
    expect(code, output).to.equal(0);

    expect(output).to.match(/all 3 edges ready in [\d.]+ s/);
    expect(output).to.match(/opened 60 sessions/);
    expect(output).to.match(
      /revocation, API call → session.end on the other edge \| p50 [\d.]+ ms, p99 [\d.]+ ms, max \d+ ms \(8 sessions\)/,
    );
    expect(output).to.match(/admitted per round: 10, 10, 10; refused: 5, 5, 5; hanging: 0/);
    expect(output).to.match(/Redis memory per 1,000 live sessions +\| -?\d+ bytes/);
    expect(output).to.match(/Redis CPU per 1,000 admissions \(opening\) +\| [\d.]+ CPU-s/);
    expect(output).to.match(/Redis CPU per minute per 1,000 live sessions +\| -?[\d.]+ CPU-s\/min/);
    expect(output).to.match(/Redis commands per admission +\| [\d.]+ script calls/);
    expect(output).to.match(/Redis commands per live session per minute +\| [\d.]+/);

    const written = readdirSync(resultsDir);
    expect(written).to.have.length(1);
    expect(readFileSync(join(resultsDir, written[0]!), "utf8")).to.include("### cluster-edges, ");

    const pids = (/^started processes: ([\d ]+)$/m.exec(output)?.[1] ?? "").split(" ").map(Number);
    expect(pids).to.have.length(5); // redis-server, 3 edges, the load generator
    await waitUntil("every process the bench started gone", () => pids.every((pid) => !isRunning(pid)), 10_000);
  });
});
