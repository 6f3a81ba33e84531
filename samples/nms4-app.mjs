// A typical node-media-server 4.x app (app.mjs, started with `node app.mjs`) with viewer authorization
// added: the lines marked "viewer auth" are all that changes. Install and start:
//
//   npm install node-media-server@4.4.3 nms-viewer-auth
//   VA_API_TOKEN="$(openssl rand -base64 32)" node app.mjs
//
// Viewers add a token from viewers.yaml (beside app.mjs) to every play URL:
//   rtmp://HOST:1935/live/STREAM?token=TOKEN
//   http://HOST:8000/live/STREAM.flv?token=TOKEN     ws://HOST:8000/live/STREAM.flv?token=TOKEN
// Publishers are unchanged: rtmp://HOST:1935/live/STREAM. The ports and paths can be overridden from
// the environment (test/package/package-install.integration.test.ts runs this file that way).
import NodeMediaServer from "node-media-server";
import { attachViewerAuth } from "nms-viewer-auth"; // viewer auth

const env = process.env;

const config = {
  bind: env.NMS_BIND ?? "0.0.0.0",
  rtmp: { port: env.RTMP_PORT ?? 1935 },
  http: { port: env.HTTP_PORT ?? 8000 },
  store: { path: env.NMS_STORE ?? "./data" },
};

const nms = new NodeMediaServer(config);

// viewer auth: from here on every play waits for this chain before one media byte is sent.
const auth = attachViewerAuth(nms, {
  auth: { defaultAction: "deny", usersFile: env.VA_USERS_FILE ?? "./viewers.yaml" },
  // The management API (list viewers, close a session), on loopback, behind this bearer token.
  api: { enabled: true, bind: "127.0.0.1", port: Number(env.VA_API_PORT ?? 8001), token: env.VA_API_TOKEN },
});

nms.run();

// viewer auth: on shutdown, give NMS its own play path back and close what the plugin opened.
process.once("SIGTERM", () => auth.detach().then(() => process.exit(0)));
