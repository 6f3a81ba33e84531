import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { CONFIG_SCHEMA_PATH, configJsonSchemaText } from "../../server/src/config-json-schema.js";
import { schemaProblems, type JsonSchema } from "../helpers/json-schema-check.js";

const MODELINE = "# yaml-language-server: $schema=../schema/config.schema.json";
/** YAML files in samples/ that are not configuration files (a users file has its own shape). */
const NOT_CONFIG = new Set(["quickstart-users.yaml"]);
const sampleConfigs = readdirSync("samples").filter((f) => f.endsWith(".yaml") && !NOT_CONFIG.has(f));

describe("the configuration's JSON Schema (schema/config.schema.json)", () => {
  const committed = readFileSync(CONFIG_SCHEMA_PATH, "utf8");
  const schema = JSON.parse(committed) as JsonSchema;

  it("is what the zod schemas generate now (run npm run config-schema after changing them)", () => {
    expect(committed === configJsonSchemaText(), "schema/config.schema.json is stale: run npm run config-schema").to.equal(true);
  });

  it("is shipped in both packages: copied into each before packing, and listed in each one's files", () => {
    const copied = readFileSync("scripts/copy-package-files.mjs", "utf8");
    expect(copied).to.match(/const COMMON = \[[^\]]*"schema"/);
    for (const pkg of ["plugin", "server"]) {
      const files = (JSON.parse(readFileSync(`${pkg}/package.json`, "utf8")) as { files: string[] }).files;
      expect(files, pkg).to.include(CONFIG_SCHEMA_PATH.split("/")[0]);
    }
  });

  it("every sample configuration names it in its first line and conforms to it", () => {
    expect(sampleConfigs.length).to.be.at.least(5);
    for (const file of sampleConfigs) {
      const text = readFileSync(join("samples", file), "utf8");
      expect(text.split("\n")[0], file).to.equal(MODELINE);
      expect(schemaProblems(schema, parse(text) ?? {}), file).to.deep.equal([]);
    }
  });

  it("refuses what the server refuses: an unknown key, a wrong type, a value outside an enum or a range, a channel without a source", () => {
    const problems = (config: unknown) => schemaProblems(schema, config);
    expect(problems({})).to.deep.equal([]);
    expect(problems({ lgo: {} })).to.deep.equal(["$.lgo: unknown key"]);
    expect(problems({ log: { level: "loud" } })[0]).to.match(/^\$\.log\.level: "loud" is not one of/);
    expect(problems({ server: { httpPort: "8000" } })[0]).to.match(/^\$\.server\.httpPort: "8000" is not/);
    expect(problems({ server: { httpPort: 70000 } })).to.deep.equal(["$.server.httpPort: above 65535"]);
    expect(problems({ channels: [{ id: "a" }] })).to.include("$.channels[0]: missing source");
    expect(problems({ channels: [{ id: "a", source: { type: "testPattern" } }] })).to.deep.equal([]);
  });
});
