import { expect } from "chai";
import { spawn } from "node:child_process";
import { recordExternalLog } from "../helpers/log-audit.js";

describe("the bundled server's last-resort handler", () => {
  it("in a real process: a socket reset that escaped is survived, the next unknown error stops and exits with 1", async function () {
    this.timeout(30_000);
    const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/last-resort-child.ts"], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    recordExternalLog(output);
    const events = output.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => e.event), output).to.deep.equal(["process.survived", "process.uncaught", "test.stopped"]);
    expect(events[0]).to.include({ code: "ECONNRESET" });
    expect(events[1]).to.include({ level: 60 });
    expect(code).to.equal(1);
  });
});
