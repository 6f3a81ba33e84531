import { expect } from "chai";
import { EventEmitter } from "node:events";
import { installLastResort, isHarmlessError, type ProcessEvents } from "../../server/src/last-resort.js";
import { waitFor } from "../helpers/wait-for.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";
import { ManualClock } from "../helpers/manual-clock.js";

const socketError = (code: string) => Object.assign(new Error(`read ${code}`), { code, syscall: "read" });

describe("the bundled server's last-resort handler", () => {
  /** A process-like emitter, a stop that the test controls, and the exit codes asked for. */
  function harness(stop: () => Promise<void> = async () => {}, stopTimeoutMs = 5000) {
    const proc = new EventEmitter();
    const logs = createCapturingLogger();
    const clock = new ManualClock(0);
    const exits: number[] = [];
    let stops = 0;
    const uninstall = installLastResort(proc as unknown as ProcessEvents, {
      log: logs.logger,
      clock,
      stopTimeoutMs,
      exit: (code) => exits.push(code),
      stop: () => {
        stops++;
        return stop();
      },
    });
    return { proc, logs, clock, exits, stops: () => stops, uninstall };
  }

  it("survives a socket error that escaped a listener (EPIPE, ECONNRESET, …), logged once a minute with the count", () => {
    const h = harness();
    h.proc.emit("uncaughtException", socketError("ECONNRESET"), "uncaughtException");
    h.proc.emit("uncaughtException", socketError("EPIPE"), "uncaughtException");
    h.proc.emit("unhandledRejection", socketError("ECONNRESET"));
    h.clock.advance(60_000);
    h.proc.emit("uncaughtException", socketError("ECONNABORTED"), "uncaughtException");
    expect(h.exits).to.deep.equal([]);
    expect(h.stops()).to.equal(0);
    const lines = h.logs.events("process.survived");
    expect(lines.map((l) => [l.level, l.code, l.occurrences])).to.deep.equal([
      [40, "ECONNRESET", 1],
      [40, "ECONNABORTED", 3],
    ]);
    h.uninstall();
  });

  it("an unknown error: logs process.uncaught at fatal with the error, stops the server, then exits with 1", async () => {
    let finishStop!: () => void;
    const h = harness(() => new Promise<void>((resolve) => (finishStop = resolve)));
    h.proc.emit("uncaughtException", new TypeError("Cannot read properties of undefined (reading 'x')"), "uncaughtException");
    const fatal = h.logs.events("process.uncaught");
    expect(fatal).to.have.length(1);
    expect(fatal[0]).to.include({ level: 60, origin: "uncaughtException" });
    expect((fatal[0]!.err as { message: string }).message).to.equal("Cannot read properties of undefined (reading 'x')");
    await waitFor("stop to be called", () => (h.stops() === 1 ? true : undefined), 2000);
    expect(h.exits, "no exit before the stop finished").to.deep.equal([]);
    // A second error while stopping is logged, and neither stops twice nor exits early.
    h.proc.emit("unhandledRejection", "a plain string reason");
    expect(h.logs.events("process.uncaught")[1]).to.include({ origin: "unhandledRejection", err: "a plain string reason", exiting: true });
    finishStop();
    await waitFor("the exit", () => (h.exits.length > 0 ? true : undefined), 2000);
    expect(h.exits).to.deep.equal([1]);
    expect(h.stops()).to.equal(1);
    h.uninstall();
  });

  it("a stop that hangs cannot keep the broken process alive: exit 1 after stopTimeoutMs", async () => {
    const h = harness(() => new Promise<void>(() => {}), 100);
    h.proc.emit("unhandledRejection", new Error("unknown rejection"));
    await waitFor("the exit", () => (h.exits.length > 0 ? true : undefined), 5000);
    expect(h.exits).to.deep.equal([1]);
    expect(h.logs.events("server.stop_failed")[0]).to.include({ timeoutMs: 100 });
    h.uninstall();
  });

  it("a stop that fails still exits with 1", async () => {
    const h = harness(async () => {
      throw new Error("nms would not stop");
    });
    h.proc.emit("uncaughtException", new Error("unknown"), "uncaughtException");
    await waitFor("the exit", () => (h.exits.length > 0 ? true : undefined), 2000);
    expect(h.exits).to.deep.equal([1]);
    expect(h.logs.events("server.stop_failed")).to.have.length(1);
    h.uninstall();
  });

  it("isHarmlessError: only Errors carrying a peer-gone code", () => {
    expect(isHarmlessError(socketError("EPIPE"))).to.equal(true);
    expect(isHarmlessError(Object.assign(new Error("x"), { code: "ERR_STREAM_WRITE_AFTER_END" }))).to.equal(true);
    expect(isHarmlessError(Object.assign(new Error("x"), { code: "SQLITE_BUSY" }))).to.equal(false);
    expect(isHarmlessError(Object.assign(new Error("x"), { code: "ERR_INVALID_ARG_TYPE" }))).to.equal(false);
    expect(isHarmlessError({ code: "EPIPE" }), "not an Error").to.equal(false);
    expect(isHarmlessError(new Error("ECONNRESET"))).to.equal(false);
  });
});
