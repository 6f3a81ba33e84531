import { expect } from "chai";
import { rtmpHostAndOrigin } from "../../plugin/src/hosts/rtmp-host-and-origin.js";

describe("rtmpHostAndOrigin: host and origin from RTMP's tcUrl", () => {
  const NONE = { host: "", origin: "" };
  const cases: [string, unknown, { host: string; origin: string }][] = [
    ["an rtmp URL with a port", "rtmp://media.example:1935/live", { host: "media.example:1935", origin: "rtmp://media.example:1935" }],
    // rtmp is not a WHATWG special scheme: the port stays and the host is not lower-cased.
    ["an rtmps URL naming port 443", "rtmps://media.example:443/live", { host: "media.example:443", origin: "rtmps://media.example:443" }],
    [
      "a URL whose host has upper case (kept as written)",
      "rtmp://Media.EXAMPLE/live",
      { host: "Media.EXAMPLE", origin: "rtmp://Media.EXAMPLE" },
    ],
    ["an IPv6 host", "rtmp://[::1]:1935/live", { host: "[::1]:1935", origin: "rtmp://[::1]:1935" }],
    [
      "userinfo before the host (never reported)",
      "rtmp://user:s3cret@media.example/live",
      { host: "media.example", origin: "rtmp://media.example" },
    ],
    ["a query and a fragment after the app", "rtmp://h/live?token=x#y", { host: "h", origin: "rtmp://h" }],
    ["an http URL", "http://media.example/live", NONE],
    ["a javascript: URL", "javascript:alert(1)", NONE],
    ["text that is not a URL", "media.example/live", NONE],
    ["an empty string", "", NONE],
    ["a number", 1935, NONE],
    ["undefined", undefined, NONE],
    ["an object", { toString: () => "rtmp://h/live" }, NONE],
  ];
  for (const [name, tcUrl, expected] of cases) {
    it(name, () => {
      expect(rtmpHostAndOrigin(tcUrl)).to.deep.equal(expected);
    });
  }
});
