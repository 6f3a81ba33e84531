import { expect } from "chai";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import { Redactor } from "../../plugin/src/core/redactor.js";
import { ProcessSupervisor } from "../../server/src/channels/process-supervisor.js";
import { startIngest } from "../../server/src/ffmpeg/ffmpeg-jobs.js";
import { serverConfigSchema } from "../../server/src/server-config-schema.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";
import { testChannel } from "../helpers/test-channel.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { waitFor } from "../helpers/wait-for.js";

describe("the ffmpeg supervisor reads the injected clock", () => {
  it("a run the injected clock calls long enough resets the backoff (every restart waits the initial delay), and `since` is on that clock", async () => {
    const channel = parseConfig(serverConfigSchema, { channels: [testChannel("clocked")] }).channels[0]!;
    const clock = new ManualClock(1_000_000);
    const logs = createCapturingLogger();
    const policy = { initialMs: 20, maxMs: 10_000, stableAfterMs: 60_000, stopTimeoutMs: 1_000 };
    // A real job whose program fails at once (/bin/false); by the injected clock each run lasted two minutes.
    const supervisor = new ProcessSupervisor(
      "clocked/ingest",
      () => {
        const job = startIngest(channel, "rtmp://127.0.0.1:9/live/clocked", "/bin/false");
        clock.advance(120_000);
        return job;
      },
      policy,
      logs.logger,
      new Redactor(),
      undefined,
      clock,
    );
    expect(supervisor.status.since).to.equal(1_000_000);
    supervisor.start();
    try {
      await waitFor("three restarts", () => (logs.events("channel.process_down").length >= 3 ? true : undefined), 20_000);
    } finally {
      await supervisor.stop();
    }
    const delays = logs.events("channel.process_down").map((e) => e.restartInMs);
    // On the system clock these runs took milliseconds, so the delays would double: 20, 40, 80.
    expect(delays.slice(0, 3)).to.deep.equal([20, 20, 20]);
    expect(supervisor.status.since).to.be.at.least(1_000_000 + 3 * 120_000);
  });
});
