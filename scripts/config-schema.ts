// Writes schema/config.schema.json from the zod schemas (npm run config-schema). The file is committed and
// shipped; test/config/config-json-schema.test.ts fails when it differs from what this would write.
import { writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CONFIG_SCHEMA_PATH, configJsonSchemaText } from "../server/src/config-json-schema.js";

const target = join(dirname(fileURLToPath(import.meta.url)), "..", CONFIG_SCHEMA_PATH);
mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, configJsonSchemaText());
console.log(`wrote ${CONFIG_SCHEMA_PATH}`);
