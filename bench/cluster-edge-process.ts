// One edge of the twenty-edge bench (bench/cluster-edges.bench.ts): the plugin attached to a bare NMS 4.4.3
// app (no ffmpeg, no bundled server) in a process of its own, because NMS 4 keeps process-wide state.
// argv[2]: a JSON file with the plugin's configuration (a file, not an argument: a user list is larger
// than one argument may be). Prints one `edge.ready` JSON line with its ports, then the plugin's JSON log
// lines (each with pino's `time` in ms, which the bench reads `session.end` times from); stops on SIGTERM.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import NodeMediaServer from "node-media-server";
import { nmsLogger } from "../test/helpers/nms4-internals.js";
import { attachViewerAuth, runNms, type PluginConfigInput } from "../plugin/src/index.js";

const config = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as PluginConfigInput;
const storeDir = mkdtempSync(join(tmpdir(), "va-bench-edge-"));
const nms = new NodeMediaServer({ bind: "127.0.0.1", rtmp: { port: "0" }, http: { port: "0" }, store: { path: storeDir } });
nmsLogger.level = "error"; // NMS's constructor sets "debug": a line per play would be part of the load
const auth = attachViewerAuth(nms, config);
const ports = await runNms(nms);
await auth.ready;
console.log(JSON.stringify({ event: "edge.ready", http: ports.http, rtmp: ports.rtmp, api: auth.api?.port }));

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  const hardStop = setTimeout(() => process.exit(1), 5000);
  hardStop.unref();
  void auth
    .detach()
    .catch(() => undefined)
    .finally(() => {
      rmSync(storeDir, { recursive: true, force: true });
      process.exit(0);
    });
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// The bench's pipe closing means the bench is gone: do not outlive it.
process.stdin.on("end", stop);
process.stdin.resume();
