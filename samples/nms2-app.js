// A typical node-media-server 2.7 app (app.js, CommonJS, started with `node app.js`) with its `trans`
// HLS, and viewer authorization added: the lines marked "viewer auth" are all that changes.
// Install and start:
//
//   npm install node-media-server@2.7.4 nms-viewer-auth
//   VA_API_TOKEN="$(openssl rand -base64 32)" NMS_API_USER=admin NMS_API_PASS="$(openssl rand -base64 32)" node app.js
//
// Viewers add a token from viewers.yaml (beside app.js) to every play URL:
//   rtmp://HOST:1935/live/STREAM?token=TOKEN
//   http://HOST:8000/live/STREAM.flv?token=TOKEN     ws://HOST:8000/live/STREAM.flv?token=TOKEN
//   http://HOST:8000/live/STREAM/index.m3u8?token=TOKEN   (HLS: the playlist that comes back carries a
//                                                          session key in every URI; nothing else under
//                                                          mediaroot is served without one)
// Publishers are unchanged: rtmp://HOST:1935/live/STREAM. The ports and folders can be overridden from
// the environment (test/package/package-install.integration.test.ts runs this file that way).
const NodeMediaServer = require("node-media-server");
const { attachViewerAuth } = require("nms-viewer-auth"); // viewer auth

const env = process.env;

// NMS 2.7's own HTTP API is open by default: anyone who reaches the HTTP port can list every viewer's
// address (GET /api/streams) and cut a publisher (DELETE /api/streams/APP/STREAM). `auth.api` puts it
// (and /admin) behind a login; these two lines make the app refuse to start without one. Don't need
// NMS's API? Set `http: { ..., api: false }` instead: the viewer-auth management API below lists and
// closes sessions itself.
if (!env.NMS_API_USER || !env.NMS_API_PASS)
  throw new Error("set NMS_API_USER and NMS_API_PASS (a long random password): node-media-server's own /api must not be open");

const config = {
  // NMS 2.7 logs every connection's query at its default level (2): with viewer auth that is the viewer's
  // token. 1 keeps errors only.
  logType: 1,
  rtmp: { port: Number(env.RTMP_PORT ?? 1935), chunk_size: 60000, gop_cache: true, ping: 30, ping_timeout: 60 },
  http: { port: Number(env.HTTP_PORT ?? 8000), mediaroot: env.MEDIAROOT ?? "./media", allow_origin: "*" },
  // NMS's own /api and /admin: HTTP basic auth with the login above (see the check before this config).
  auth: { api: true, api_user: env.NMS_API_USER, api_pass: env.NMS_API_PASS },
  trans: {
    ffmpeg: env.FFMPEG ?? "/usr/bin/ffmpeg",
    tasks: [{ app: "live", hls: true, hlsFlags: "[hls_time=2:hls_list_size=3:hls_flags=delete_segments]" }],
  },
};

const nms = new NodeMediaServer(config);

// viewer auth: from here on every play waits for this chain before one media byte is sent, and the
// trans HLS under mediaroot is served only through sessions (no `hls` keys needed: mediaroot is read
// from the NMS config above).
const auth = attachViewerAuth(nms, {
  auth: { defaultAction: "deny", usersFile: env.VA_USERS_FILE ?? "./viewers.yaml" },
  // The management API (list viewers, close a session), on loopback, behind this bearer token.
  api: { enabled: true, bind: "127.0.0.1", port: Number(env.VA_API_PORT ?? 8001), token: env.VA_API_TOKEN },
});

nms.run();

// viewer auth: on shutdown, give NMS its own play path back and close what the plugin opened.
process.once("SIGTERM", () => auth.detach().then(() => process.exit(0)));
