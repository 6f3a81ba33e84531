import { expect } from "chai";
import { classifyFlvRequest, type FlvRequestTarget } from "../../plugin/src/hosts/nms4/flv-request-target.js";

const STREAM = "test";
const bad = (field: string, reason: string, value?: unknown): FlvRequestTarget => ({ kind: "bad", problem: { field, reason, value } });

describe("classifyFlvRequest: what NMS 4.4.3's FLV handler is asked", () => {
  describe("HTTP-FLV: the hostile paths the input shield refuses", () => {
    // The catalogue of test/gate/input-shield.integration.test.ts, with the exact problem each one is.
    const cases: [string, FlvRequestTarget][] = [
      ["/live/a%20b.flv", bad("path", "stream name has characters other than A-Z a-z 0-9 _ -", "/live/a%20b.flv")],
      ["/live/a.b.flv", bad("path", "stream name has characters other than A-Z a-z 0-9 _ -", "/live/a.b.flv")],
      ["/live/a.flv.flv", bad("path", "stream name has characters other than A-Z a-z 0-9 _ -", "/live/a.flv.flv")],
      ["/live%2Fx/a.flv", bad("path", "app has characters other than A-Z a-z 0-9 _ -", "/live%2Fx/a.flv")],
      ["/live/a%2Fb.flv", bad("path", "stream name has characters other than A-Z a-z 0-9 _ -", "/live/a%2Fb.flv")],
      ["/live/%ZZ.flv", bad("path", "has malformed percent-encoding", "/live/%ZZ.flv")],
      ["/live/a%00.flv", bad("path", "stream name has characters other than A-Z a-z 0-9 _ -", "/live/a%00.flv")],
      [`/live/${STREAM}.flv#x`, bad("target", "has a fragment", `/live/${STREAM}.flv`)],
      [`/live/${"n".repeat(1100)}.flv`, bad("path", "stream name longer than 1024 characters", `/live/${"n".repeat(1100)}.flv`)],
      [`/live/${STREAM}.flv?q=${"q".repeat(8200)}`, bad("query", "query longer than 8192 characters")],
      [`/live/${STREAM}.flv?a=\u0001`, bad("query", "query has control characters")],
      [`/${"a".repeat(129)}/${STREAM}.flv`, bad("path", "app longer than 128 characters", `/${"a".repeat(129)}/${STREAM}.flv`)],
      [`http://127.0.0.1/live/${STREAM}.flv`, bad("target", "not an origin-form request target", `http://127.0.0.1/live/${STREAM}.flv`)],
      [`HTTP://h/live/${STREAM}.FLV`, bad("target", "not an origin-form request target", `HTTP://h/live/${STREAM}.FLV`)],
    ];
    for (const [url, expected] of cases) {
      it(`refuses ${url.slice(0, 50)}`, () => {
        expect(classifyFlvRequest(url, "http")).to.deep.equal(expected);
      });
    }
  });

  describe("HTTP-FLV: what it accepts and what it leaves to NMS", () => {
    const cases: [string, FlvRequestTarget["kind"]][] = [
      [`/live/${STREAM}.flv`, "flv"],
      [`/live/${STREAM}.flv?token=a.b.c&x=%20`, "flv"],
      [`/live/${STREAM}.FLV`, "flv"],
      [`/live/${STREAM}.flv/`, "flv"],
      ["/live/te%73t.flv", "flv"],
      [`/${"a".repeat(128)}/${"n".repeat(1024)}.flv?${"q".repeat(8192)}`, "flv"],
      ["/static/vod/movie.flv", "other"],
      ["/live/test/index.m3u8", "other"],
      ["/", "other"],
      ["/live/.flv", "other"],
      ["/api/streams", "other"],
      ["*", "other"],
      ["example.com:443", "other"],
    ];
    for (const [url, kind] of cases) {
      it(`${url.slice(0, 50)} is ${kind}`, () => {
        expect(classifyFlvRequest(url, "http")).to.deep.equal({ kind });
      });
    }
  });

  describe("WS-FLV: every upgrade is judged, raw names only", () => {
    const refused: [string, FlvRequestTarget][] = [
      ["/live/a%20b.flv", bad("path", "stream name has characters other than A-Z a-z 0-9 _ -", "/live/a%20b.flv")],
      ["/live", bad("path", "is not /<app>/<name> or /<app>/<name>.flv", "/live")],
      ["/", bad("path", "is not /<app>/<name> or /<app>/<name>.flv", "/")],
      ["/live/", bad("path", "stream name empty", "/live/")],
      ["//test", bad("path", "app empty", "//test")],
      ["/live/a.b", bad("path", "is not /<app>/<name> or /<app>/<name>.flv", "/live/a.b")],
      ["/live/a/b.flv", bad("path", "is not /<app>/<name> or /<app>/<name>.flv", "/live/a/b.flv")],
      // NMS does not decode a WS path: the percent sign itself is what it would see.
      ["/live/te%73t.flv", bad("path", "stream name has characters other than A-Z a-z 0-9 _ -", "/live/te%73t.flv")],
      [`/live/${STREAM}.flv?q=${"q".repeat(8200)}`, bad("query", "query longer than 8192 characters")],
      [`/live/${STREAM}#frag`, bad("target", "has a fragment", `/live/${STREAM}`)],
      [`ws://h/live/${STREAM}`, bad("target", "not an origin-form request target", `ws://h/live/${STREAM}`)],
      ["live/test", bad("target", "not an origin-form request target", "live/test")],
    ];
    for (const [url, expected] of refused) {
      it(`refuses ${url.slice(0, 50)}`, () => {
        expect(classifyFlvRequest(url, "ws")).to.deep.equal(expected);
      });
    }

    for (const url of [`/live/${STREAM}`, `/live/${STREAM}.flv`, `/live/${STREAM}.FLV?token=x`, `/live_2/St-ream_9`]) {
      it(`accepts ${url}`, () => {
        expect(classifyFlvRequest(url, "ws")).to.deep.equal({ kind: "flv" });
      });
    }
  });
});
