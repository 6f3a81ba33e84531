// `npm run fuzz`: fuzzes a fresh bundled server process (HTTP, WebSocket, RTMP, management API), prints
// a summary table and exits 1 when any rule broke. Bounded: 150 s of cases by default.
import { randomInt } from "node:crypto";
import { parseArgs } from "node:util";
import { hasFfmpeg } from "../helpers/ffmpeg.js";
import { FAMILIES, type Family } from "./fuzz-case.js";
import { catalogueSizes } from "./case-plan.js";
import { formatReport, fuzzPassed } from "./fuzz-report.js";
import { runFuzz } from "./fuzz-run.js";

const USAGE = `usage: npm run fuzz -- [options]
  --seed N          seed of the random cases (default: a new one, printed)
  --duration S      seconds the run may spend before its final checks (default 150)
  --cases N         run cases 0..N-1 at most
  --case K[,K…]     replay exactly these cases (repeatable), each checked on its own
  --family F[,F…]   only ${FAMILIES.join(", ")}
  --batch N         cases between liveness checkpoints (default 5)
  --rss-slack MB    allowed RSS growth over the baseline after the settle (default 64)
  --settle MS       idle time before the final memory and disk readings (default 5000)
  --no-bisect       after a crash, do not replay the batch one case at a time
  --server-root DIR fuzz the server of another checkout (default: this one)
  --verbose         print every case, its answers and notes`;

function numberOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name}: ${JSON.stringify(value)} is not a whole number ≥ 0`);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seed: { type: "string" },
      duration: { type: "string" },
      cases: { type: "string" },
      case: { type: "string", multiple: true },
      family: { type: "string" },
      batch: { type: "string" },
      "rss-slack": { type: "string" },
      settle: { type: "string" },
      "no-bisect": { type: "boolean" },
      "server-root": { type: "string" },
      verbose: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!hasFfmpeg) {
    console.error("npm run fuzz needs ffmpeg on PATH (the server under test encodes a test-pattern channel)");
    return 2;
  }
  const only = values.case?.flatMap((v) => v.split(",")).map((v) => numberOption(v.trim(), "case")!);
  const families = values.family?.split(",").map((f) => f.trim());
  const unknown = families?.filter((f) => !(FAMILIES as readonly string[]).includes(f)) ?? [];
  if (unknown.length > 0) throw new Error(`--family: ${unknown.join(", ")} is not one of ${FAMILIES.join(", ")}`);
  const seed = numberOption(values.seed, "seed") ?? randomInt(1, 2 ** 31);
  const sizes = catalogueSizes();
  console.log(
    `fuzz: seed ${seed}; catalogue ${Object.entries(sizes)
      .map(([f, n]) => `${f} ${n}`)
      .join(", ")} (then random cases); replay a case with: npm run fuzz -- --seed ${seed} --case K`,
  );
  const report = await runFuzz({
    seed,
    ...(only !== undefined ? { only, verbose: true } : {}),
    ...(families !== undefined ? { families: families as Family[] } : {}),
    ...(values.cases !== undefined ? { cases: numberOption(values.cases, "cases")! } : {}),
    durationSec: numberOption(values.duration, "duration") ?? 150,
    ...(values.batch !== undefined ? { batchSize: numberOption(values.batch, "batch")! } : {}),
    ...(values["rss-slack"] !== undefined ? { rssSlackMb: numberOption(values["rss-slack"], "rss-slack")! } : {}),
    ...(values.settle !== undefined ? { settleMs: numberOption(values.settle, "settle")! } : {}),
    bisect: values["no-bisect"] !== true,
    ...(values["server-root"] !== undefined ? { serverRoot: values["server-root"] } : {}),
    verbose: values.verbose === true || only !== undefined,
    log: (line) => console.log(line),
  });
  console.log(formatReport(report));
  return fuzzPassed(report) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
  },
);
