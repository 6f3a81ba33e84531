// The CommonJS build (tsconfig.cjs.json) lands in dist/cjs, under a package.json whose "type" is
// "module": this marker makes Node (and TypeScript, for the .d.ts) read that folder as CommonJS.
import { mkdirSync, writeFileSync } from "node:fs";

mkdirSync("dist/cjs", { recursive: true });
writeFileSync("dist/cjs/package.json", JSON.stringify({ type: "commonjs" }, null, 2) + "\n");
