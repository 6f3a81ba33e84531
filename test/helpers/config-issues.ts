import { ConfigError, parseConfig } from "../../plugin/src/index.js";
import { pluginConfigSchema, type PluginConfigInput } from "../../plugin/src/plugin-config-schema.js";

/** The issues (`path: message`) the plugin's configuration schema finds in `input`; none for a valid one. */
export function configIssuesOf(input: PluginConfigInput): string[] {
  try {
    parseConfig(pluginConfigSchema, input);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
  }
}
