import { z } from "zod";
import { serverConfigSchema } from "./server-config-schema.js";

/** Where the JSON Schema is committed and shipped, relative to the package root. */
export const CONFIG_SCHEMA_PATH = "schema/config.schema.json";

/**
 * The JSON Schema of the bundled server's configuration file (every plugin section plus `server` and
 * `channels`), generated from the zod schemas that validate it, so editors can complete and check a
 * config (the samples name it in their `yaml-language-server` modeline). It describes the input: what
 * may be written, with defaults, not what the parse fills in. Draft-07, the draft YAML editors read best.
 * Checks zod runs in code (cross-key rules, duplicate channels) have no JSON Schema form; the server still
 * runs them at load.
 */
export function configJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(serverConfigSchema, { io: "input", target: "draft-07" }) as Record<string, unknown>;
  return {
    $schema: generated.$schema,
    title: "nms-viewer-auth configuration",
    description: "The bundled server's configuration file: the plugin's sections, server and channels. See docs/configuration.md.",
    ...generated,
  };
}

/** The committed file's text: the schema as indented JSON with a final newline. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
