import { CLOSED_WITHOUT_ANSWER, NO_ANSWER_YET, type CaseOutcome } from "./case-outcome.js";
import { attackSequence, type CaseBody, type CaseContext } from "./fuzz-case.js";
import { flvMediaOf } from "./flv-media.js";
import { parseResponses, type ParsedResponses } from "./http-responses.js";
import { rawExchange, type RawStep } from "./raw-exchange.js";

/** Raw HTTP bytes to send on one connection, and what the fuzzer should expect back. */
export interface HttpAttack {
  steps: readonly RawStep[];
  /** The method of each request in the steps, in order (answers are counted against it; HEAD has no body). */
  methods: readonly string[];
  /** True when the steps hold whole requests, so the server owes an answer or a close. */
  complete: boolean;
  /** Non-4xx statuses this attack may get (e.g. 204 for a CORS preflight). */
  accept?: readonly number[];
  /** Wait for answers after the last step, ms (default 3000: generous, so a loaded machine is not taken for a hang). */
  readMs?: number;
}

/**
 * Sends an attack on a fresh connection and records every answer in the outcome: its status (5xx and
 * unrefused answers are violations), media in any body (FLV tags, MPEG-TS), and a missing answer to a
 * whole request. Returns the parsed responses for callers that look further.
 */
export async function sendHttpAttack(port: number, attack: HttpAttack, outcome: CaseOutcome, what: string): Promise<ParsedResponses> {
  const readMs = attack.readMs ?? 3000;
  const wanted = Math.max(1, attack.methods.length);
  const exchange = await rawExchange(port, attack.steps, {
    readMs,
    maxBytes: 512 * 1024,
    done: (bytes, closed) => {
      const parsed = parseResponses(bytes, attack.methods, closed);
      return parsed.garbage || parsed.responses.filter((r) => r.complete).length >= wanted;
    },
  });
  if (exchange.connectFailed) outcome.note(`${what}: connection failed (${exchange.error ?? "?"})`);
  const parsed = parseResponses(exchange.received, attack.methods, exchange.closedByServer);
  if (parsed.garbage) outcome.note(`${what}: the server sent bytes that are not an HTTP response`);
  for (const response of parsed.responses) {
    outcome.answer(response.status, what, attack.accept);
    if (response.status >= 200 && response.status < 300)
      outcome.media(mediaBytesOf(response.body, response.headers["content-type"] ?? ""), what);
  }
  if (parsed.responses.length === 0 && !exchange.connectFailed) {
    outcome.answer(exchange.closedByServer ? CLOSED_WITHOUT_ANSWER : NO_ANSWER_YET, what);
    if (!exchange.closedByServer && attack.complete) outcome.noAnswer(what, readMs);
  }
  return parsed;
}

/** Audio/video bytes in a response body: FLV tags, or the whole body for MPEG-TS. */
export function mediaBytesOf(body: Buffer, contentType: string): number {
  if (body.length === 0) return 0;
  if (/flv/i.test(contentType) || body.toString("latin1", 0, 3) === "FLV") return flvMediaOf(body).mediaBytes;
  if (/mp2t/i.test(contentType) || body[0] === 0x47) return body.length;
  return 0;
}

/**
 * A case made of HTTP attacks sent one after the other, each on its own connection, to the port
 * `portOf` picks (the viewer port or the management API's).
 */
export function httpCaseBody(
  name: string,
  portOf: (ctx: CaseContext) => number,
  build: (ctx: CaseContext) => HttpAttack | HttpAttack[],
  authorized = false,
): CaseBody {
  return attackSequence(name, build, (ctx, attack, outcome, label) => sendHttpAttack(portOf(ctx), attack, outcome, label), authorized);
}
