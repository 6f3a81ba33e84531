import { parseArgs } from "node:util";
import { buildViewerAuth, ConfigError, type ExplainAnswer } from "nms-viewer-auth";
import { apiTokenAtBuild, configSecrets, createLogger, Redactor } from "nms-viewer-auth/server-kit";
import { pluginConfigOf } from "./build-server.js";
import { CONFIG_FILE_VARIABLE, envOverrides, loadServerConfig } from "./env-overrides.js";

export const EXPLAIN_USAGE = `Usage: nms-viewer-auth explain --config FILE URL --ip ADDR [--user-agent UA] [--header NAME:VALUE]… [--cache-only] [--json]

Says what the server configured by FILE would do with URL opened from ADDR: every step of the chain
with its verdict, reason and time, the identity it resolved and the session limits (counted on an
empty server: this process starts nothing, so no session is playing). Opens no port and starts no
ffmpeg; the backend is asked (its answer is not cached) unless --cache-only.

Exit codes: 0 allow, 2 deny, 3 unknown (--cache-only and the backend would be asked), 1 error.
`;

/** The explain subcommand's exit codes. */
const EXIT = { allow: 0, deny: 2, unknown: 3, error: 1 } as const;

/** Runs `nms-viewer-auth explain …` and returns its exit code; output goes through `out` and `err`. */
export async function explainCommand(argv: readonly string[], out: (text: string) => void, err: (text: string) => void): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        config: { type: "string", short: "c" },
        ip: { type: "string" },
        "user-agent": { type: "string" },
        header: { type: "string", multiple: true },
        "cache-only": { type: "boolean" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    err(`${(error as Error).message}\n\n${EXPLAIN_USAGE}`);
    return EXIT.error;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    out(EXPLAIN_USAGE);
    return 0;
  }
  const file = values.config ?? (process.env[CONFIG_FILE_VARIABLE] || undefined);
  if (file === undefined || positionals.length !== 1 || values.ip === undefined) {
    err(`explain needs --config FILE, one URL and --ip ADDR\n\n${EXPLAIN_USAGE}`);
    return EXIT.error;
  }
  const headers: Record<string, string> = {};
  for (const header of values.header ?? []) {
    const colon = header.indexOf(":");
    if (colon <= 0) {
      err(`--header must be NAME:VALUE, not ${JSON.stringify(header)}\n`);
      return EXIT.error;
    }
    headers[header.slice(0, colon).trim()] = header.slice(colon + 1).trim();
  }
  let auth;
  try {
    const env = envOverrides(process.env);
    const config = loadServerConfig(file, env.overrides, env.issues);
    const plugin = pluginConfigOf(config);
    const secrets = configSecrets(apiTokenAtBuild(plugin).config);
    // Warnings (an unreachable backend) to stderr; stdout carries the answer only.
    const log = createLogger("warn", process.stderr, new Redactor(secrets), "json");
    auth = buildViewerAuth(plugin, { logger: log });
  } catch (error) {
    err(error instanceof ConfigError ? `${error.message}\n` : `${(error as Error).message}\n`);
    return EXIT.error;
  }
  try {
    const answer = await auth.explain({
      url: positionals[0]!,
      ip: values.ip,
      userAgent: values["user-agent"],
      headers,
      cacheOnly: values["cache-only"] === true,
    });
    out(values.json === true ? `${JSON.stringify(answer, null, 2)}\n` : explainText(answer));
    return EXIT[answer.verdict];
  } catch (error) {
    err(`${(error as Error).message}\n`);
    return EXIT.error;
  } finally {
    await auth.detach();
  }
}

/** The answer as a table for a terminal. */
export function explainText(answer: ExplainAnswer): string {
  const rows = answer.steps.map((s) => [s.step, s.verdict, `${s.ms.toFixed(3)} ms`, s.reason]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length), ["step", "verdict", "time"][i]!.length));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell))
      .join("  ")
      .trimEnd();
  const identity = answer.identity === null ? "none" : JSON.stringify(answer.identity);
  const limits = answer.limits.limits.map((l) => `${l.what} ${l.playing}/${l.max} (${l.outcome})`).join(", ") || "none apply";
  return [
    `${answer.verdict.toUpperCase()}  ${answer.protocol} ${answer.app}/${answer.channel} from ${answer.ip}`,
    `decided by ${answer.decidedBy}: ${answer.reason}`,
    "",
    line(["step", "verdict", "time", "reason"]),
    ...rows.map(line),
    "",
    `identity: ${identity}`,
    `limits:   ${limits}${answer.limits.refusal === null ? "" : ` — refused: ${answer.limits.refusal}`}`,
    "",
  ].join("\n");
}
