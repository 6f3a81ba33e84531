import { connect } from "node:net";
import { countInto, type LoadResult } from "./load-results.js";

/** An FLV header (9 bytes) plus the first tag size: what arrives before any media. */
const FLV_PREAMBLE_BYTES = 13;

/**
 * An HTTP-FLV viewer on a raw socket: sends the GET, checks the status line, then counts the streamed
 * bytes until `deadline`, stop() or the server closes. Resolves with how it ended.
 */
export function watchFlv(
  port: number,
  path: string,
  deadline: number,
  result: LoadResult,
  stopSignal: { stopped: boolean },
): Promise<"left" | "closed-by-server" | "refused"> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    const startedAt = Date.now();
    let head = "";
    let status = 0;
    let bytes = 0;
    let settled = false;
    let errored = false;
    const finish = (how: "left" | "closed-by-server" | "refused") => {
      if (settled) return;
      settled = true;
      clearInterval(check);
      result.flvBytes += bytes;
      if (bytes > FLV_PREAMBLE_BYTES) result.flvWithMedia++;
      if (how === "left") result.flvLeftAt.push(Date.now());
      socket.destroy();
      resolve(how);
    };
    const check = setInterval(() => {
      if (stopSignal.stopped || Date.now() >= deadline) finish("left");
    }, 250);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: soak-player/1\r\n\r\n`);
    socket.on("data", (chunk: Buffer) => {
      if (status === 0) {
        head += chunk.toString("latin1");
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        status = Number(head.slice(9, 12));
        countInto(result.joinStatuses, String(status));
        result.joinMs.push(Date.now() - startedAt);
        if (status !== 200) {
          countInto(result.errors, `flv-status-${status}`);
          return finish("refused");
        }
        result.joined++;
        bytes += Buffer.byteLength(head.slice(end + 4), "latin1");
        return;
      }
      bytes += chunk.length;
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      if (status === 0) {
        errored = true;
        countInto(result.joinStatuses, "0");
        countInto(result.errors, `flv-${error.code ?? "error"}`);
      }
    });
    socket.on("close", () => {
      if (status === 0 && !errored && !settled) countInto(result.errors, "flv-closed");
      finish(status === 200 ? "closed-by-server" : "refused");
    });
  });
}
