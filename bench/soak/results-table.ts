import type { ScenarioResult } from "./scenario.js";

/** The results as a markdown table (what bench/README.md shows), one row per figure. */
export function markdownTable(results: ScenarioResult[]): string {
  const rows = ["| scenario | figure | value | target | ok |", "|---|---|---|---|---|"];
  for (const r of results) {
    for (const f of r.figures)
      rows.push(`| ${f.scenario} | ${f.figure} | ${f.value} | ${f.target} | ${f.ok === undefined ? "" : f.ok ? "yes" : "**NO**"} |`);
    rows.push(`| ${r.name} | **scenario** | ${Math.round(r.seconds)} s | | ${r.passed ? "**passed**" : "**FAILED**"} |`);
  }
  return rows.join("\n");
}

/** The same table for a terminal: aligned columns. */
export function textTable(results: ScenarioResult[]): string {
  const cells = [["scenario", "figure", "value", "target", "ok"]];
  for (const r of results) {
    for (const f of r.figures) cells.push([f.scenario, f.figure, f.value, f.target, f.ok === undefined ? "" : f.ok ? "yes" : "NO"]);
    cells.push([r.name, "=> scenario", `${Math.round(r.seconds)} s`, "", r.passed ? "PASSED" : "FAILED"]);
  }
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return cells
    .map((row) =>
      row
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
