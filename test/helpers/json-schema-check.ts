/**
 * A small JSON Schema checker for the keywords the generated configuration schema uses (type, properties,
 * required, additionalProperties, propertyNames, items, maxItems, enum, const, anyOf, oneOf, pattern,
 * minLength, minimum, maximum, multipleOf). No JSON Schema validator is installed, and the check needs no
 * more than these. A keyword it does not know fails the check, so the schema cannot outgrow it unnoticed;
 * `format` and annotations (`default`, `title`, `description`, `$schema`) are not assertions here.
 */
export type JsonSchema = Record<string, unknown>;

const KNOWN = new Set([
  "$schema",
  "title",
  "description",
  "default",
  "format",
  "type",
  "properties",
  "required",
  "additionalProperties",
  "propertyNames",
  "items",
  "maxItems",
  "enum",
  "const",
  "anyOf",
  "oneOf",
  "pattern",
  "minLength",
  "minimum",
  "maximum",
  "multipleOf",
]);

/** The problems of `value` against `schema`, each as `<path>: <what>`; empty when it conforms. */
export function schemaProblems(schema: JsonSchema, value: unknown, path = "$"): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(schema)) if (!KNOWN.has(key)) problems.push(`${path}: the checker does not know keyword "${key}"`);
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    if (!types.some((t) => hasType(value, t))) return [...problems, `${path}: ${JSON.stringify(value)} is not ${types.join(" or ")}`];
  }
  if (schema.const !== undefined && JSON.stringify(schema.const) !== JSON.stringify(value))
    problems.push(`${path}: must be ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value)))
    problems.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (Array.isArray(schema.anyOf) && !schema.anyOf.some((s) => schemaProblems(s as JsonSchema, value, path).length === 0))
    problems.push(`${path}: matches none of anyOf`);
  if (Array.isArray(schema.oneOf)) {
    const matching = schema.oneOf.filter((s) => schemaProblems(s as JsonSchema, value, path).length === 0).length;
    if (matching !== 1) problems.push(`${path}: matches ${matching} of oneOf, not exactly one`);
  }
  if (typeof value === "string") {
    if (typeof schema.minLength === "number" && [...value].length < schema.minLength)
      problems.push(`${path}: shorter than ${schema.minLength}`);
    if (typeof schema.pattern === "string" && !new RegExp(schema.pattern, "u").test(value))
      problems.push(`${path}: does not match ${schema.pattern}`);
  }
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum) problems.push(`${path}: below ${schema.minimum}`);
    if (typeof schema.maximum === "number" && value > schema.maximum) problems.push(`${path}: above ${schema.maximum}`);
    if (typeof schema.multipleOf === "number" && value % schema.multipleOf !== 0)
      problems.push(`${path}: not a multiple of ${schema.multipleOf}`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.maxItems === "number" && value.length > schema.maxItems) problems.push(`${path}: more than ${schema.maxItems} items`);
    if (schema.items !== undefined)
      value.forEach((v, i) => problems.push(...schemaProblems(schema.items as JsonSchema, v, `${path}[${i}]`)));
  }
  if (isObject(value)) {
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
    for (const key of (schema.required ?? []) as string[]) if (!(key in value)) problems.push(`${path}: missing ${key}`);
    for (const [key, v] of Object.entries(value)) {
      const at = `${path}.${key}`;
      if (schema.propertyNames !== undefined) problems.push(...schemaProblems(schema.propertyNames as JsonSchema, key, at));
      if (properties[key] !== undefined) problems.push(...schemaProblems(properties[key], v, at));
      else if (schema.additionalProperties === false) problems.push(`${at}: unknown key`);
      else if (isObject(schema.additionalProperties)) problems.push(...schemaProblems(schema.additionalProperties, v, at));
    }
  }
  return problems;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case "null":
      return value === null;
    case "integer":
      return Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "array":
      return Array.isArray(value);
    case "object":
      return isObject(value);
    default:
      return typeof value === type;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
