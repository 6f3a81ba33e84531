import { MESSAGE_TYPE, RawRtmpClient } from "../helpers/rtmp-wire.js";
import type { CaseOutcome } from "./case-outcome.js";
import type { CaseContext } from "./fuzz-case.js";

/** What an RTMP case does on one connection, after the handshake (unless `handshake` is false). */
export interface RtmpScript {
  /** Do the plain handshake first (default true); false leaves the raw socket to the script. */
  handshake?: boolean;
  send(client: RawRtmpClient, ctx: CaseContext): void | Promise<void>;
  /** Longest wait for the server to close after the script, ms (default 800). */
  waitMs?: number;
}

/**
 * Runs an RTMP script on a fresh raw connection, waits for the server to close it (or `waitMs`), and
 * records the audio/video bytes it received: any at all is a leak unless the case is authorized.
 */
export async function runRtmpScript(ctx: CaseContext, outcome: CaseOutcome, what: string, script: RtmpScript): Promise<void> {
  let client: RawRtmpClient;
  try {
    client = await RawRtmpClient.open(ctx.ports.rtmp);
  } catch (error) {
    return outcome.note(`${what}: connection failed (${(error as Error).message})`);
  }
  try {
    if (script.handshake ?? true) await client.handshake(3000);
    await script.send(client, ctx);
    const closed = await client.closesWithin(script.waitMs ?? 800);
    const media = client.messages.filter((m) => m.type === MESSAGE_TYPE.audio || m.type === MESSAGE_TYPE.video).length;
    outcome.media(client.mediaBytes(), what);
    const statuses = [...new Set(client.statusCodes())].join(" ");
    outcome.note(
      `${what}: ${closed ? "closed by the server" : "still open"}; ${media} media messages; statuses: ${statuses || "none"}${client.parseError === undefined ? "" : `; ${client.parseError}`}`,
    );
  } catch (error) {
    outcome.media(client.mediaBytes(), what);
    outcome.note(`${what}: ${(error as Error).message}`);
  } finally {
    client.destroy();
  }
}
