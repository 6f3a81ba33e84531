// A typical node-media-server 4.x app (app.mjs, run with `node app.mjs`), plus the lines that add
// viewer authorization: the ones marked `// + viewer auth`. Everything else is the app as it was.
//
//   npm install node-media-server@4.4.3 nms-viewer-auth
//   VA_API_TOKEN=<at least 12 characters> node app.mjs
//
// Viewers then add their token to every play URL (see viewers.yaml beside this file's copy):
//   rtmp://HOST:1935/live/STREAM?token=TOKEN   http://HOST:8000/live/STREAM.flv?token=TOKEN
//   ws://HOST:8000/live/STREAM.flv?token=TOKEN
// Publishers are unchanged: rtmp://HOST:1935/live/STREAM.
// The ports and paths below can be overridden from the environment (the package test does that).
import NodeMediaServer from "node-media-server";
import { attachViewerAuth } from "nms-viewer-auth"; // + viewer auth

const env = process.env;

const config = {
  bind: env.NMS_BIND ?? "0.0.0.0",
  rtmp: { port: env.RTMP_PORT ?? 1935 },
  http: { port: env.HTTP_PORT ?? 8000 },
  store: { path: env.NMS_STORE ?? "./data" },
};

const nms = new NodeMediaServer(config);

// + viewer auth: every play (RTMP, HTTP-FLV, WS-FLV) waits for this chain before one media byte is sent.
const auth = attachViewerAuth(nms, { // + viewer auth
  auth: { defaultAction: "deny", usersFile: env.VA_USERS_FILE ?? "./viewers.yaml" }, // + viewer auth
  api: { enabled: true, bind: "127.0.0.1", port: Number(env.VA_API_PORT ?? 8001), token: env.VA_API_TOKEN }, // + viewer auth
}); // + viewer auth

nms.run();

// + viewer auth: give NMS its own play path back and close what the plugin opened on shutdown.
process.once("SIGTERM", async () => { // + viewer auth
  await auth.detach(); // + viewer auth
  process.exit(0); // + viewer auth
}); // + viewer auth
