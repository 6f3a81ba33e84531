import type { AuthRequest, Authorizer, StepVerdict } from "../../plugin/src/index.js";
import { sleep } from "./sleep.js";

/**
 * A real custom authorizer (the plugin's public extension point) whose answer and delay a test sets:
 * it stands in for a slow middleware without mocking any of our code.
 */
export class ScriptedAuthorizer implements Authorizer {
  readonly name = "custom" as const;
  verdict: StepVerdict | "throw" = { verdict: "pass" };
  delayMs = 0;
  readonly seen: AuthRequest[] = [];
  started = 0;
  finished = 0;

  async decide(request: AuthRequest): Promise<StepVerdict> {
    this.seen.push(request);
    this.started++;
    try {
      await sleep(this.delayMs);
      if (this.verdict === "throw") throw new Error("scripted failure");
      return this.verdict;
    } finally {
      this.finished++;
    }
  }
}
