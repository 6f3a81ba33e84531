// Writes schema/openapi.json from the management API's OpenAPI document (plugin/src/api/openapi-document.ts).
// The file is committed and shipped; test/api/openapi-document.test.ts fails when it differs from what this
// would write.
import { writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { OPENAPI_DOCUMENT_PATH, openApiDocumentText } from "../plugin/src/api/openapi-document.js";

const target = join(dirname(fileURLToPath(import.meta.url)), "..", OPENAPI_DOCUMENT_PATH);
mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, openApiDocumentText());
console.log(`wrote ${OPENAPI_DOCUMENT_PATH}`);
