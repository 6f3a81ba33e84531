import { CASE_VIOLATION_KINDS } from "./case-outcome.js";
import { FAMILIES, type Family } from "./fuzz-case.js";
import type { FuzzReport, RunFailure } from "./fuzz-run.js";

/** Cases with bad answers listed one by one in the summary; the rest are counted. */
const MAX_LISTED_CASES = 40;

/** True when the run broke no rule. */
export function fuzzPassed(report: FuzzReport): boolean {
  return report.failures.length === 0 && report.records.every((r) => r.violations.length === 0);
}

/** Failures and violations of one family: crashes and liveness failures count by the cases they are pinned on. */
function familyRow(report: FuzzReport, family: Family): string[] {
  const records = report.records.filter((r) => r.family === family);
  const familyOf = new Map(report.records.map((r) => [r.index, r.family]));
  const pinned = (kind: RunFailure["kind"]) =>
    report.failures.filter((f) => f.kind === kind && f.cases.some((c) => familyOf.get(c) === family)).length;
  const violations = CASE_VIOLATION_KINDS.map((kind) => String(records.filter((r) => r.violations.some((v) => v.kind === kind)).length));
  const mediaBytes = records.filter((r) => !r.authorized).reduce((sum, r) => sum + r.mediaBytes, 0);
  return [
    family,
    String(records.length),
    String(pinned("crash")),
    String(pinned("liveness")),
    ...violations,
    String(mediaBytes),
    String(pinned("injection")),
  ];
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r, n) => {
      const line = r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(" | ");
      return n === 0 ? `${line}\n${widths.map((w) => "-".repeat(w)).join("-|-")}` : line;
    })
    .join("\n");
}

/**
 * The summary printed at the end of `npm run fuzz`: a table per family (cases, crashes, liveness
 * failures, each kind of bad answer, media bytes to unauthorized clients, injections), the run-level
 * checks with their measurements and bounds, and every failing case with the command that replays it.
 */
export function formatReport(report: FuzzReport): string {
  const out: string[] = [];
  const seconds = (report.durationMs / 1000).toFixed(1);
  out.push(
    "",
    `Fuzz summary: seed ${report.seed}, ${report.records.length} cases in ${seconds} s (${report.stoppedBy}), server restarts: ${report.restarts}`,
    "",
  );
  const header = ["family", "cases", "crashes", "liveness", ...CASE_VIOLATION_KINDS, "unauth media B", "injections"];
  const rows = FAMILIES.map((f) => familyRow(report, f));
  const total = header.map((_, i) => (i === 0 ? "total" : String(rows.reduce((sum, r) => sum + Number(r[i]), 0))));
  // Crashes and liveness failures pinned on cases of several families count once in the total.
  total[2] = String(report.failures.filter((f) => f.kind === "crash").length);
  total[3] = String(report.failures.filter((f) => f.kind === "liveness").length);
  total[header.length - 1] = String(report.failures.filter((f) => f.kind === "injection").length);
  out.push(table([header, ...rows, total]), "");

  const count = (kind: RunFailure["kind"]) => report.failures.filter((f) => f.kind === kind).length;
  const verdict = (n: number) => (n === 0 ? "ok  " : "FAIL");
  out.push("checks:");
  out.push(`  ${verdict(count("crash"))} process alive: ${count("crash")} crash(es)`);
  const finalProbes = report.finalProbes.map((p) => `${p.detail.split(":")[0]} ${p.ok ? "ok" : "FAILED"}`).join(", ");
  out.push(
    `  ${verdict(count("liveness"))} authorized viewer plays: ${report.probes.run - report.probes.failed}/${report.probes.run} checkpoint probes ok; final: ${finalProbes || "not run"}`,
  );
  out.push(
    `  ${verdict(count("injection"))} nothing injected into the channel: the authorized watcher got ${(report.watcher.bytes / 1024 / 1024).toFixed(1)} MB, marker seen ${report.watcher.markerHits}×, reconnected ${report.watcher.interruptions}×`,
  );
  out.push(`  ${verdict(count("api-lockout"))} operator's API token still answered 200 after API cases`);
  const m = report.memory;
  out.push(
    m === undefined
      ? "  ---- memory: not measured (the run ended early)"
      : `  ${verdict(count("memory"))} memory: RSS baseline ${m.baselineMb} MB, peak ${m.peakMb} MB, after the settle ${m.finalMb} MB (bound: baseline + ${m.slackMb} MB${m.sinceRestart ? "; baseline of the last restart" : ""})`,
  );
  const d = report.disk;
  out.push(
    d === undefined
      ? "  ---- disk: not measured (the run ended early)"
      : `  ${verdict(count("disk"))} statistics on disk: ${(d.baselineBytes / 1024).toFixed(0)} KB → ${(d.finalBytes / 1024).toFixed(0)} KB (bound ${(d.boundBytes / 1024).toFixed(0)} KB: 8 MB + 4 KB per case)`,
  );
  out.push(`  ${verdict(count("secret-in-log"))} no credential of the run in the server's output`);
  out.push(`  ${verdict(count("harness"))} harness`);
  out.push(`  backend asked ${report.backendCalls}× (it refuses everyone; onUnreachable: allow)`);
  const events = Object.entries(report.errorEvents).sort((a, b) => b[1] - a[1]);
  if (events.length > 0) out.push(`  server error-level log events: ${events.map(([e, n]) => `${e} ×${n}`).join(", ")}`);

  const replay = (index: number) => `npm run fuzz -- --seed ${report.seed} --case ${index}`;
  const failing: string[] = [];
  for (const f of report.failures) {
    const where = f.cases.length === 0 ? "(run)" : f.cases.length === 1 ? `case ${f.cases[0]}` : `cases ${f.cases.join(",")}`;
    const names = f.cases
      .map((c) => report.records.find((r) => r.index === c))
      .filter((r) => r !== undefined)
      .map((r) => `[${r.family}] ${r.name}`);
    failing.push(`  ${f.kind.toUpperCase()} ${where}: ${f.detail}${names.length === 1 ? ` — ${names[0]}` : ""}`);
    if (f.kind === "crash" && f.tail !== undefined) {
      const cause = f.tail.filter((l) => /Error|throw|at |Uncaught|exception/i.test(l) && !l.startsWith("{")).slice(0, 6);
      for (const line of cause) failing.push(`      | ${line.slice(0, 200)}`);
    }
    if (f.cases.length === 1) failing.push(`      replay: ${replay(f.cases[0]!)}`);
  }
  const violating = report.records.filter((x) => x.violations.length > 0);
  for (const r of violating.slice(0, MAX_LISTED_CASES)) {
    failing.push(`  case ${r.index} [${r.family}] ${r.name}`);
    for (const v of r.violations.slice(0, 3)) failing.push(`      ${v.kind}: ${v.detail}`);
    if (r.violations.length > 3) failing.push(`      … ${r.violations.length - 3} more`);
    failing.push(`      replay: ${replay(r.index)}`);
  }
  if (violating.length > MAX_LISTED_CASES)
    failing.push(`  … and ${violating.length - MAX_LISTED_CASES} more cases with bad answers (--verbose prints every case)`);
  if (failing.length > 0) out.push("", "failures:", ...failing);
  out.push("", fuzzPassed(report) ? "FUZZ PASSED" : "FUZZ FAILED", "");
  return out.join("\n");
}
