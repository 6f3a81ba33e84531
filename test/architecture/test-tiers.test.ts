import { expect } from "chai";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/**
 * The fast tier (`npm run test:unit`) is every test file not named `*.integration.test.ts`. It must
 * start nothing: no NMS, ffmpeg, redis, nginx, Chromium, PHP or other child process, and no server
 * listening on a port (an in-process `node:http` server on port 0 counts). This test keeps the name
 * honest: a unit-tier file that imports something that starts things, directly or through a test
 * helper, fails here and belongs in a `*.integration.test.ts` file.
 */
const ROOT = resolve(import.meta.dirname, "../..");
const TEST = join(ROOT, "test");

/** Test helpers that start processes or servers (or open listening ports) when used. */
const STARTING_HELPERS = [
  "helpers/nms-instance",
  "helpers/ffmpeg",
  "helpers/bundled-server",
  "helpers/redis-server",
  "helpers/chromium",
  "helpers/stub-backend",
  "helpers/spawned-process",
  "helpers/cluster-edges",
  "helpers/free-port",
  "helpers/tcp-relay",
];
/** Packages that exist to start processes, servers or browsers. */
const STARTING_PACKAGES = new Set(["node:child_process", "child_process", "node:cluster", "cluster", "playwright-core", "redis"]);
/** Source text that starts a server or a host, whatever it was imported from. */
const STARTING_CALLS: readonly RegExp[] = [
  /\bcreateServer\s*\(/,
  /\bcreateSecureServer\s*\(/,
  /\bnew\s+(?:\w+\.)?Server\s*\(/,
  /\.listen\s*\(/,
  /\brunNms\s*\(/,
  /\.start\(\)/,
  // The starters of test helpers and benches: startNms, startBundledServer, startStandaloneGate, startRedis, …
  /\bstart\w*(?:Server|Nms|Gate|Backend|Redis|Relay)\w*\s*\(/,
];

function testFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".test.ts"))
    .map((f) => join(dir, f));
}

function specifiersOf(text: string): string[] {
  const out: string[] = [];
  for (const match of text.matchAll(/^\s*(?:import|export)\s+(?!type\s)[^;]*?\sfrom\s+"([^"]+)"/gms)) out.push(match[1]!);
  for (const match of text.matchAll(/^\s*import\s+"([^"]+)"/gm)) out.push(match[1]!);
  for (const match of text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)) out.push(match[1]!);
  for (const match of text.matchAll(/\brequire\(\s*"([^"]+)"\s*\)/g)) out.push(match[1]!);
  return out;
}

/** Why a test source (and the test-folder modules it imports, transitively) would start something; [] when it would not. */
export function startingReasons(file: string, text: string = readFileSync(file, "utf8"), seen = new Set<string>()): string[] {
  seen.add(file);
  const reasons: string[] = [];
  const name = relative(ROOT, file);
  // A part that only runs timers (a cache purge, a key sweep) has a start() too: a call marked so, on its
  // own line, is not a process or a server.
  const checked = text.replace(/\.start\(\);[ \t]*\/\/ timers only[^\n]*/g, ";");
  for (const call of STARTING_CALLS) if (call.test(checked)) reasons.push(`${name} matches ${call.source}`);
  for (const from of specifiersOf(text)) {
    if (STARTING_PACKAGES.has(from)) reasons.push(`${name} imports ${from}`);
    if (!from.startsWith(".")) continue;
    const target = resolve(dirname(file), from).replace(/\.js$/, ".ts");
    const inTest = relative(TEST, target);
    if (STARTING_HELPERS.some((helper) => inTest === `${helper}.ts`)) reasons.push(`${name} imports ${from}`);
    else if (!inTest.startsWith("..") && existsSync(target) && !seen.has(target))
      reasons.push(...startingReasons(target, readFileSync(target, "utf8"), seen));
  }
  return reasons;
}

describe("test tiers: the unit tier starts no process and no server", () => {
  const files = testFiles(TEST);
  // This file names the starting calls as examples; it starts nothing itself.
  const unit = files.filter((f) => !f.endsWith(".integration.test.ts") && f !== import.meta.filename);

  it("no unit-tier file imports a helper, package or call that starts things", () => {
    expect(unit.length).to.be.greaterThan(20);
    expect(unit.flatMap((f) => startingReasons(f))).to.deep.equal([]);
  });

  it("the check flags what starts things (it can fail)", () => {
    const fake = join(TEST, "gate", "fake.test.ts");
    expect(startingReasons(fake, 'import { startNms } from "../helpers/nms-instance.js";\n')).to.have.length(1);
    expect(startingReasons(fake, 'import { spawn } from "node:child_process";\n')).to.have.length(1);
    expect(startingReasons(fake, "const server = http.createServer();\nserver.listen(0);\n")).to.have.length(2);
    expect(
      startingReasons(
        fake,
        'import { startStandaloneGate } from "../../bench/standalone-hls-gate.js";\nawait startStandaloneGate(root);\n',
      ),
    ).to.have.length(1);
    // Through a helper that is not on the list but imports one that is.
    expect(startingReasons(fake, 'import { decodeFrames } from "../helpers/decode.js";\n')).to.not.deep.equal([]);
    expect(
      startingReasons(fake, 'import { expect } from "chai";\nimport type { RunningServer } from "../helpers/bundled-server.js";\n'),
    ).to.deep.equal([]);
    expect(startingReasons(join(TEST, "gate", "play-gate.integration.test.ts"))).to.not.deep.equal([]);
    // start() marked as timers only is allowed; an unmarked one, or a marker on a listen, is not.
    expect(startingReasons(fake, "cache.start(); // timers only: the purge\n")).to.deep.equal([]);
    expect(startingReasons(fake, "await auth.start();\n")).to.have.length(1);
    expect(startingReasons(fake, "server.listen(0); // timers only\n")).to.have.length(1);
  });

  it("every test file sits in a concern folder, not directly in test/", () => {
    expect(files.filter((f) => dirname(f) === TEST).map((f) => relative(ROOT, f))).to.deep.equal([]);
  });
});
