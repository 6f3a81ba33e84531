import type { Dispatcher } from "undici";
import { createBackendAuthorizer } from "../../plugin/src/backend/backend-authorizer.js";
import type { Authorizer } from "../../plugin/src/core/authorizer.js";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import { backendSchema } from "../../plugin/src/backend/backend-schema.js";
import { MemorySessionStore } from "../../plugin/src/sessions/memory-session-store.js";
import type { ViewerSession } from "../../plugin/src/core/viewer-session.js";
import { createCapturingLogger, type CapturedLog } from "./capturing-logger.js";
import { ManualClock } from "./manual-clock.js";

/** The real backend step built from a config input, with the parts around it a test inspects. */
export interface BackendStepHarness {
  step: Authorizer;
  registry: MemorySessionStore;
  clock: ManualClock;
  logs: CapturedLog;
  /** Opens a live session in the registry (the grant memory only keeps live sessions). */
  openSession(channel?: string): ViewerSession;
}

export function backendStep(input: Record<string, unknown>, opts: { dispatcher?: Dispatcher } = {}): BackendStepHarness {
  const clock = new ManualClock();
  const logs = createCapturingLogger();
  const registry = new MemorySessionStore(clock, logs.logger);
  const config = parseConfig(backendSchema, input);
  const step = createBackendAuthorizer(config, { sessions: registry, clock, dispatcher: opts.dispatcher }, logs.logger);
  return {
    step,
    registry,
    clock,
    logs,
    openSession: (channel = "a001") =>
      registry.open({
        protocol: "http-flv",
        app: "live",
        channel,
        ip: "203.0.113.7",
        userAgent: "",
        transport: { bytesOut: () => 0, close: () => {} },
      }),
  };
}
