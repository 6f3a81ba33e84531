import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnLogged } from "../helpers/spawned-process.js";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { nginxBinary } from "../../bench/nginx-secure-link.js";
import type { ScenarioResult } from "../../bench/soak/scenario.js";

/**
 * The fault, load and soak suite (`npm run soak`) in --quick mode, end to end: the real server in its own
 * process, load processes, fault backends and nginx. Proves the suite runs and each scenario passes at
 * small sizes; the full sizes are run by hand (bench/README.md, "Fault, load and soak suite").
 */
describe("soak suite smoke run (npm run soak -- --quick)", function () {
  // About a minute on an idle 2-core machine; a shared or busy one is slower, so the bound is generous.
  this.timeout(300_000);
  let out: string;
  before(function () {
    if (!hasFfmpeg || nginxBinary() === undefined) this.skip(); // the suite needs ffmpeg and nginx
    out = mkdtempSync(join(tmpdir(), "va-soak-smoke-"));
  });
  after(() => out && rmSync(out, { recursive: true, force: true }));

  /** `npm run soak -- --quick` with `extra` options, from sources, one load process: its exit code, output and written results. */
  async function runQuickSoak(extra: string[]) {
    const args = [
      "--import",
      "tsx",
      "bench/soak/run-soak.ts",
      "--quick",
      ...extra,
      "--runtime",
      "tsx",
      "--load-processes",
      "1",
      "--out",
      out,
    ];
    const run = spawnLogged(process.execPath, args);
    const code = await run.exit;
    const written = JSON.parse(readFileSync(join(out, "soak-results.json"), "utf8")) as { header: string; results: ScenarioResult[] };
    return { code, printed: run.output(), written };
  }

  it("runs every scenario, prints the table and writes it; every scenario passes", async () => {
    const { code, printed, written } = await runQuickSoak([]);
    const failed = written.results.filter((r) => !r.passed).map((r) => `${r.name}: ${r.notes.join(" | ")}`);
    expect(failed, printed).to.deep.equal([]);
    expect(code, printed).to.equal(0);
    expect(written.results.map((r) => r.name)).to.deep.equal(["1 backend faults", "2 restart under load", "3 HLS load", "4 soak"]);
    for (const result of written.results) {
      const checked = result.figures.filter((f) => f.ok !== undefined);
      expect(checked.length, result.name).to.be.greaterThan(2);
      expect(
        checked.every((f) => f.ok === true && f.target !== "" && f.value !== ""),
        result.name,
      ).to.equal(true);
      expect(printed).to.include(result.name);
    }
    expect(printed).to.match(/scenario\s+figure\s+value\s+target\s+ok/);
    expect(printed.match(/=> scenario .* PASSED/g)).to.have.length(4);
    const markdown = readFileSync(join(out, "soak-results.md"), "utf8");
    expect(markdown).to.include("| scenario | figure | value | target | ok |");
    expect(markdown.match(/\*\*passed\*\*/g)).to.have.length(4);
  });

  it("the HLS load scenario on an AES-128 channel: every simulated player fetches each new key through the gate, and it passes", async () => {
    const { code, printed, written } = await runQuickSoak(["--scenario", "hls", "--hls-encrypted"]);
    const [result] = written.results;
    expect(result?.notes, printed).to.deep.equal([]);
    expect(code, printed).to.equal(0);
    const keys = result!.figures.find((f) => f.figure.startsWith("gated: keys delivered") && f.ok !== undefined);
    expect(keys?.ok, printed).to.equal(true);
    const [delivered, asked] = keys!.value.split(" / ").map(Number);
    expect(asked).to.be.greaterThan(0);
    expect(delivered).to.equal(asked);
  });
});
