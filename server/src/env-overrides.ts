import { ConfigError } from "nms-viewer-auth";
import { readYamlFile, validateConfig, type ConfigIssue } from "nms-viewer-auth/server-kit";
import { serverConfigSchema, type ServerConfig } from "./server-config-schema.js";

/** How a variable's text becomes a configuration value (the schema then checks the value itself). */
type ValueKind = "text" | "integer" | "boolean";

/** A per-deployment setting that an environment variable may give, over the configuration file. */
export interface EnvSetting {
  readonly variable: string;
  /** The configuration key it sets, e.g. ["server", "rtmpPort"]. */
  readonly key: readonly [string, string];
  readonly kind: ValueKind;
}

/**
 * The environment variables the bundled server reads (docs/operations.md, "Environment variables", has the table). One prefix,
 * `VA_`; a variable that is set and not empty wins over the file; the schema checks its value like
 * the file's, and an error names the variable.
 */
export const ENV_SETTINGS: readonly EnvSetting[] = [
  { variable: "VA_BIND", key: ["server", "bind"], kind: "text" },
  { variable: "VA_RTMP_PORT", key: ["server", "rtmpPort"], kind: "integer" },
  { variable: "VA_HTTP_PORT", key: ["server", "httpPort"], kind: "integer" },
  { variable: "VA_DATA_DIR", key: ["server", "dataDir"], kind: "text" },
  { variable: "VA_API_ENABLED", key: ["api", "enabled"], kind: "boolean" },
  { variable: "VA_API_BIND", key: ["api", "bind"], kind: "text" },
  { variable: "VA_API_PORT", key: ["api", "port"], kind: "integer" },
  { variable: "VA_API_TOKEN", key: ["api", "token"], kind: "text" },
  { variable: "VA_API_METRICS_TOKEN", key: ["api", "metricsToken"], kind: "text" },
  { variable: "VA_REDIS_URL", key: ["cluster", "redis"], kind: "text" },
  { variable: "VA_NODE_ID", key: ["cluster", "nodeId"], kind: "text" },
  { variable: "VA_LOG_LEVEL", key: ["log", "level"], kind: "text" },
  { variable: "VA_LOG_FORMAT", key: ["log", "format"], kind: "text" },
];

/** The variable that names the configuration file when `--config` is not given (containers). */
export const CONFIG_FILE_VARIABLE = "VA_CONFIG";

/** One value that replaces the file's: from a variable, or a command-line flag (`--log-format`). */
export interface Override {
  readonly source: string;
  readonly key: readonly [string, string];
  readonly value: unknown;
}

/** The overrides the environment gives; a value that is not of its kind is an issue naming the variable. */
export function envOverrides(env: NodeJS.ProcessEnv): { overrides: Override[]; issues: ConfigIssue[] } {
  const overrides: Override[] = [];
  const issues: ConfigIssue[] = [];
  for (const setting of ENV_SETTINGS) {
    const text = env[setting.variable];
    if (text === undefined || text === "") continue; // `-e VA_X=` in a container means "not set"
    const value = convert(text, setting.kind);
    if (value === undefined) {
      issues.push({
        path: setting.key.join("."),
        message: `must be ${setting.kind === "integer" ? "a whole number" : "true or false"} (from ${setting.variable})`,
        value: text,
      });
    } else {
      overrides.push({ source: setting.variable, key: setting.key, value });
    }
  }
  return { overrides, issues };
}

/**
 * Reads the configuration file, puts the overrides over it (later ones win: the environment, then
 * flags), and validates the result. Every issue is reported at once; an issue at a key an override
 * set names its variable or flag, since the file does not hold that value.
 */
export function loadServerConfig(file: string, overrides: readonly Override[], issues: readonly ConfigIssue[] = []): ServerConfig {
  const document = readYamlFile(file) ?? {};
  const sourceOf = new Map<string, string>();
  let input = document; // not a mapping: the schema says so, and no override applies
  if (isMapping(document)) {
    const merged: Record<string, unknown> = { ...document };
    for (const {
      key: [section, key],
      value,
      source,
    } of overrides) {
      const current = merged[section];
      merged[section] = { ...(isMapping(current) ? current : {}), [key]: value };
      sourceOf.set(`${section}.${key}`, source);
    }
    input = merged;
  }
  const result = validateConfig(serverConfigSchema, input);
  const all = [...issues, ...(result.ok ? [] : result.issues.map((issue) => namedSource(issue, sourceOf)))];
  if (all.length > 0) throw new ConfigError(all, file);
  return (result as { value: ServerConfig }).value;
}

/** An issue about a key an override set, with the override's name in its message. */
function namedSource(issue: ConfigIssue, sourceOf: ReadonlyMap<string, string>): ConfigIssue {
  const source =
    [...sourceOf].find(([key]) => issue.path === key || issue.path.startsWith(`${key}.`) || issue.path.startsWith(`${key}[`))?.[1] ??
    // An unknown section (e.g. `cluster` before this build knows it) is reported at the section.
    [...sourceOf].find(([key]) => key.startsWith(`${issue.path}.`))?.[1];
  return source === undefined ? issue : { ...issue, message: `${issue.message} (from ${source})` };
}

function convert(text: string, kind: ValueKind): unknown {
  if (kind === "text") return text;
  if (kind === "integer") return /^\d{1,9}$/.test(text.trim()) ? Number(text.trim()) : undefined;
  const lower = text.trim().toLowerCase();
  return lower === "true" || lower === "1" ? true : lower === "false" || lower === "0" ? false : undefined;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
