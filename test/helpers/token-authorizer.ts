import { allow, PASS, type AuthRequest, type StepVerdict } from "../../plugin/src/index.js";
import { ScriptedAuthorizer } from "./scripted-authorizer.js";
import { sleep } from "./sleep.js";

/**
 * Allows `token=good` (as user u1) and `token=good2` (as user u2) after an adjustable delay, and
 * passes everything else: stands in for valid credentials in tests about other parts.
 */
export class TokenAuthorizer extends ScriptedAuthorizer {
  override async decide(request: AuthRequest): Promise<StepVerdict> {
    this.seen.push(request);
    await sleep(this.delayMs);
    const token = request.params.get("token");
    if (token === "good") return allow("good token", { name: "viewer-1", userId: "u1" });
    if (token === "good2") return allow("good token", { name: "viewer-2", userId: "u2" });
    return PASS;
  }
}
