/**
 * Host and origin from RTMP's tcUrl, as a URL parser reads them: never the userinfo a client put
 * before the host (`rtmp://user:password@host/app`), never anything but an rtmp/rtmps URL.
 */
export function rtmpHostAndOrigin(tcUrl: unknown): { host: string; origin: string } {
  if (typeof tcUrl !== "string") return { host: "", origin: "" };
  let url: URL;
  try {
    url = new URL(tcUrl);
  } catch {
    return { host: "", origin: "" };
  }
  if (url.protocol !== "rtmp:" && url.protocol !== "rtmps:") return { host: "", origin: "" };
  return { host: url.host, origin: `${url.protocol}//${url.host}` };
}
