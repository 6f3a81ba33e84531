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
    const events = output
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    // Lines are compared by their own time, not by arrival: on a busy machine the pipe may hand them over
    // in another order than they were written.
    expect(events.map((e) => e.event).sort(), output).to.deep.equal(["process.survived", "process.uncaught", "test.stopped"]);
    const byEvent = new Map(events.map((e) => [e.event as string, e]));
    const timeOf = (event: string) => byEvent.get(event)!.time as number;
    expect(timeOf("process.survived"), output).to.be.at.most(timeOf("process.uncaught"));
    expect(timeOf("process.uncaught"), output).to.be.at.most(timeOf("test.stopped"));
    expect(byEvent.get("process.survived")).to.include({ code: "ECONNRESET" });
    expect(byEvent.get("process.uncaught")).to.include({ level: 60 });
    expect(code).to.equal(1);
  });
});
