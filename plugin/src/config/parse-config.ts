import { readFileSync } from "node:fs";
import { z } from "zod";
import { parseDocument } from "yaml";
import { ConfigError, type ConfigIssue } from "../core/errors.js";
import { Redactor } from "../core/redactor.js";

/** Key names whose values are never echoed in an error message. */
const SECRET_KEY = /secret|password|token|credential/i;
/** Other echoed values lose URL credentials (a source or backend URL with `user:password@` or `?apikey=`). */
const URL_CREDENTIALS = new Redactor();

/**
 * Validates a configuration object against a schema: every problem is collected and thrown at once
 * as one ConfigError, unknown keys included (a typo must not quietly switch a rule off). The result
 * is deep-frozen: no other code reads raw input.
 */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, source = "configuration"): Readonly<z.output<S>> {
  const result = validateConfig(schema, input);
  if (!result.ok) throw new ConfigError(result.issues, source);
  return result.value;
}

/** The outcome of validating input that is not a whole configuration (an API request body). */
export type Validated<T> = { readonly ok: true; readonly value: Readonly<T> } | { readonly ok: false; readonly issues: ConfigIssue[] };

/** parseConfig without the throw: every issue with its key path, or the deep-frozen value. */
export function validateConfig<S extends z.ZodType>(schema: S, input: unknown): Validated<z.output<S>> {
  const result = schema.safeParse(input ?? {}, { reportInput: true });
  if (!result.success) return { ok: false, issues: toConfigIssues(result.error.issues, schema) };
  return { ok: true, value: deepFreeze(result.data) };
}

/** Reads a YAML file and validates it; YAML syntax errors are reported with line and column. */
export function loadConfigFile<S extends z.ZodType>(schema: S, file: string): Readonly<z.output<S>> {
  return parseConfig(schema, readYamlFile(file), file);
}

/** Reads a YAML file as plain data, unvalidated; an unreadable file or a YAML error is a ConfigError. */
export function readYamlFile(file: string): unknown {
  return parseYamlText(readConfigText(file), file);
}

/** A configuration file's text; an unreadable file is a ConfigError. */
export function readConfigText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError([{ path: "", message: `cannot read ${file}: ${(error as Error).message}` }], file);
  }
}

/** YAML text as plain data, unvalidated; a YAML error is a ConfigError naming `file`. */
export function parseYamlText(text: string, file: string): unknown {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(
      document.errors.map((e) => ({ path: "", message: `YAML: ${e.message.split("\n")[0]}` })),
      file,
    );
  }
  return document.toJS();
}

/** Formats a zod path as `a.b[2].c`. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

function toConfigIssues(issues: readonly z.core.$ZodIssue[], schema: z.ZodType): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const path = formatPath([...issue.path, key]);
        const hint = suggestKey(key, knownKeysAt(schema, issue.path));
        out.push({ path, message: `is not a known key${hint}` });
      }
      continue;
    }
    const path = formatPath(issue.path);
    if (issue.code === "invalid_union" && issue.discriminator !== undefined && "options" in issue && issue.options !== undefined) {
      // A discriminated union reports the whole object as its input; name the tag's value instead.
      const tag = (issue.input as Record<string, unknown> | undefined)?.[issue.discriminator];
      const options = issue.options.map((o) => JSON.stringify(o)).join("|");
      out.push(
        tag === undefined
          ? { path, message: `is required: one of ${options}` }
          : { path, message: `must be one of ${options}`, value: tag },
      );
      continue;
    }
    const isSecret = issue.path.some((k) => typeof k === "string" && SECRET_KEY.test(k));
    const value = isSecret ? "<redacted>" : URL_CREDENTIALS.redactValue((issue as { input?: unknown }).input);
    out.push({ path, message: describe(issue), value });
  }
  return out;
}

function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type" && (issue as { input?: unknown }).input === undefined) return "is required";
  return issue.message
    .replace(/^Invalid option: expected one of /, "must be one of ")
    .replace(
      /^Invalid input: expected (\w+), received (\w+)$/,
      (_, want: string, got: string) => `must be ${article(want)}, not ${article(got)}`,
    );
}

function article(noun: string): string {
  return /^[aeiou]/.test(noun) ? `an ${noun}` : `a ${noun}`;
}

/** The keys an object schema accepts at a path, for "did you mean" hints. */
function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: z.ZodType | undefined = schema;
  for (const key of path) {
    current = unwrap(current);
    if (current instanceof z.ZodObject) current = current.shape[key as string] as z.ZodType | undefined;
    else if (current instanceof z.ZodArray) current = current.element as z.ZodType;
    else return [];
  }
  current = unwrap(current);
  return current instanceof z.ZodObject ? Object.keys(current.shape) : [];
}

function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  let current = schema;
  for (let i = 0; i < 10 && current !== undefined; i++) {
    const def = (current as { def?: { innerType?: z.ZodType; in?: z.ZodType; out?: z.ZodType; options?: unknown } }).def;
    if (def?.innerType) current = def.innerType;
    // A preprocess is a pipe from a transform: the keys live in what it feeds.
    else if (def?.in) current = def.in instanceof z.ZodTransform && def.out ? def.out : def.in;
    else break;
  }
  return current;
}

function suggestKey(key: string, known: string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best === undefined || bestDistance > Math.max(2, Math.floor(key.length / 3))) {
    return known.length > 0 ? ` (known keys: ${known.join(", ")})` : "";
  }
  return ` (did you mean "${best}"?)`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value as object)) deepFreeze(inner);
  }
  return value;
}
