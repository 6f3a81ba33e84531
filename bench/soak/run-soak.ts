// `npm run soak`: the fault, load and soak suite (faults, restart under load, 2,000 HLS viewers against nginx, soak). Runs the
// scenarios one after another against the bundled server in its own process, with load generators in
// processes of their own, prints a table of figures and writes it as JSON and markdown. Exit code 0 when
// every scenario passed, 1 otherwise, 2 for a bad command line. See bench/README.md, "Fault, load and soak suite".
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { markdownTable, textTable } from "./results-table.js";
import type { ScenarioResult, SoakOptions } from "./scenario.js";
import { buildOnce, REPO, type ServerRuntime } from "./server-process.js";
import { backendFaultsScenario } from "./scenarios/backend-faults.js";
import { restartScenario } from "./scenarios/restart-under-load.js";
import { hlsLoadScenario } from "./scenarios/hls-load.js";
import { soakScenario } from "./scenarios/soak.js";

const SCENARIOS = { faults: backendFaultsScenario, restart: restartScenario, hls: hlsLoadScenario, soak: soakScenario } as const;
type ScenarioName = keyof typeof SCENARIOS;

const USAGE = `Usage: npm run soak -- [options]

  --scenario NAME   run one scenario: ${Object.keys(SCENARIOS).join(", ")} (repeatable; default: all)
  --quick           small sizes and short runs (a smoke run, about a minute)
  --minutes N       soak length in minutes (default 30)
  --soak-viewers N  soak viewers (default 200)
  --hls-viewers N   viewers of the HLS load scenario (default 2000)
  --hls-seconds N   how long the HLS load lasts per server after the ramp (default 60)
  --hls-encrypted   the HLS load scenario's channel is AES-128 encrypted (players fetch every key)
  --load-processes N  load generator processes per load (default 2)
  --runtime dist|tsx  run the compiled build (default; built first) or the TypeScript through tsx
  --out DIR         where soak-results.json and soak-results.md go (default .tmp/soak)
`;

function readOptions(): { options: SoakOptions; scenarios: ScenarioName[]; out: string } | undefined {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        scenario: { type: "string", multiple: true },
        quick: { type: "boolean" },
        minutes: { type: "string" },
        "soak-viewers": { type: "string" },
        "hls-viewers": { type: "string" },
        "hls-seconds": { type: "string" },
        "hls-encrypted": { type: "boolean" },
        "load-processes": { type: "string" },
        runtime: { type: "string" },
        out: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return undefined;
  }
  if (values.help === true) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const number = (name: string, text: string | undefined, fallback: number) => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got "${text}"`);
    return n;
  };
  const scenarios = (values.scenario ?? Object.keys(SCENARIOS)) as string[];
  const unknown = scenarios.filter((s) => !(s in SCENARIOS));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(", ")}; known: ${Object.keys(SCENARIOS).join(", ")}`);
  const runtime = values.runtime ?? "dist";
  if (runtime !== "dist" && runtime !== "tsx") throw new Error(`--runtime must be dist or tsx, got "${runtime}"`);
  return {
    scenarios: scenarios as ScenarioName[],
    out: resolve(values.out ?? join(REPO, ".tmp/soak")),
    options: {
      quick: values.quick === true,
      runtime: runtime as ServerRuntime,
      minutes: number("minutes", values.minutes, 30),
      soakViewers: number("soak-viewers", values["soak-viewers"], 200),
      hlsViewers: number("hls-viewers", values["hls-viewers"], 2000),
      hlsSeconds: number("hls-seconds", values["hls-seconds"], 60),
      hlsEncrypted: values["hls-encrypted"] === true,
      loadProcesses: number("load-processes", values["load-processes"], 2),
    },
  };
}

let parsed;
try {
  parsed = readOptions();
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
}
if (parsed === undefined) process.exit(2);
const { options, scenarios, out } = parsed;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
const loadBefore = load();
if (options.runtime === "dist") buildOnce();
const results: ScenarioResult[] = [];
for (const name of scenarios) {
  process.stderr.write(`soak: scenario ${name} (load average ${load()})\n`);
  results.push(await SCENARIOS[name](options));
}
const header = `Soak suite ${new Date().toISOString()} — ${options.quick ? "quick" : "full"} sizes, runtime ${options.runtime}; load average before ${loadBefore}, after ${load()} (1/5/15 min)`;
const notes = results.flatMap((r) => r.notes.map((n) => `- ${r.name}: ${n}`));
console.log(`\n${header}\n\n${textTable(results)}${notes.length > 0 ? `\n\nNotes:\n${notes.join("\n")}` : ""}`);
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "soak-results.json"), JSON.stringify({ header, options, results }, null, 2));
writeFileSync(join(out, "soak-results.md"), `${header}\n\n${markdownTable(results)}\n${notes.length > 0 ? `\n${notes.join("\n")}\n` : ""}`);
console.log(`\nwritten: ${join(out, "soak-results.md")} and soak-results.json`);
process.exit(results.every((r) => r.passed) ? 0 : 1);
