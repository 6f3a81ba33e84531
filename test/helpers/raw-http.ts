import { connect } from "node:net";

/**
 * Sends raw bytes to an HTTP port on loopback and resolves with the first line the server answered
 * (its status line), or "" when it closed without a word. The socket is destroyed after `giveUpMs`, so
 * a request the server leaves hanging resolves with what came until then.
 */
export function rawStatusLine(port: number, text: string, giveUpMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let answer = "";
    socket.on("data", (chunk) => (answer += chunk.toString("latin1")));
    socket.on("close", () => resolve(answer.split("\r\n")[0] ?? ""));
    socket.on("error", () => resolve(answer.split("\r\n")[0] ?? ""));
    socket.write(text, "latin1");
    setTimeout(() => socket.destroy(), giveUpMs).unref();
  });
}
