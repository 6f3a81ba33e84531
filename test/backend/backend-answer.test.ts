import { expect } from "chai";
import { answerOfStatus, authDurationOf, headerOf, identityOf, type BackendAnswer } from "../../plugin/src/backend/backend-answer.js";
import type { BackendResponse } from "../../plugin/src/backend/backend-transport.js";

const response = (status: number, headers: Record<string, string | string[]> = {}): BackendResponse => ({
  status,
  headers,
  body: Buffer.alloc(0),
});

describe("backend-answer: what a backend's status and headers mean", () => {
  describe("answerOfStatus", () => {
    const cases: [string, BackendResponse, string | undefined, BackendAnswer][] = [
      [
        "200 allows, without identity",
        response(200),
        undefined,
        { kind: "allow", reason: "backend answered 200", user: undefined, authDurationSec: undefined },
      ],
      [
        "200 allows with the identity headers and X-AuthDuration",
        response(200, { "x-session-name": "Ann", "x-userid": "u1", "x-max-sessions": "2", "x-authduration": "120" }),
        undefined,
        { kind: "allow", reason: "backend answered 200", user: { name: "Ann", userId: "u1", maxSessions: 2 }, authDurationSec: 120 },
      ],
      [
        "204 denies",
        response(204),
        undefined,
        { kind: "deny", reason: "backend answered 204", redirectUrl: undefined, authDurationSec: undefined },
      ],
      [
        "403 denies with the redirect given",
        response(403, { "x-authduration": "7" }),
        "https://shop.example/buy",
        { kind: "deny", reason: "backend answered 403", redirectUrl: "https://shop.example/buy", authDurationSec: 7 },
      ],
      [
        "403 with an empty redirect denies without one",
        response(403),
        "",
        { kind: "deny", reason: "backend answered 403", redirectUrl: undefined, authDurationSec: undefined },
      ],
      [
        "302 denies (the type decides the redirect)",
        response(302),
        undefined,
        { kind: "deny", reason: "backend answered 302", redirectUrl: undefined, authDurationSec: undefined },
      ],
      [
        "499 denies",
        response(499),
        undefined,
        { kind: "deny", reason: "backend answered 499", redirectUrl: undefined, authDurationSec: undefined },
      ],
      [
        "500 is an error, never a verdict",
        response(500, { "x-authduration": "60" }),
        "https://x",
        { kind: "error", reason: "backend answered 500" },
      ],
      ["503 is an error", response(503), undefined, { kind: "error", reason: "backend answered 503" }],
    ];
    for (const [name, res, redirect, answer] of cases) {
      it(name, () => {
        expect(answerOfStatus(res, redirect)).to.deep.equal(answer);
      });
    }
  });

  describe("identityOf", () => {
    const cases: [string, Record<string, string | string[]>, object | undefined][] = [
      ["no identity headers", { "content-type": "text/plain" }, undefined],
      ["empty identity headers", { "x-session-name": "", "x-userid": "  " }, undefined],
      ["a session name only", { "x-session-name": " Ann " }, { name: "Ann" }],
      ["a user id only", { "x-userid": "42" }, { userId: "42" }],
      ["a session limit", { "x-max-sessions": "3" }, { maxSessions: 3 }],
      ["X-Unique: true means one session", { "x-unique": "TRUE" }, { maxSessions: 1 }],
      ["X-Unique: false means nothing", { "x-unique": "false" }, undefined],
      ["X-Max-Sessions wins over X-Unique", { "x-unique": "true", "x-max-sessions": "5" }, { maxSessions: 5 }],
      ["a malformed X-Max-Sessions is ignored", { "x-max-sessions": "-1", "x-userid": "u" }, { userId: "u" }],
      ["X-Max-Sessions of 0 is kept", { "x-max-sessions": "0" }, { maxSessions: 0 }],
      ["a repeated header: the first value", { "x-userid": ["first", "second"] }, { userId: "first" }],
    ];
    for (const [name, headers, identity] of cases) {
      it(name, () => {
        expect(identityOf(response(200, headers))).to.deep.equal(identity);
      });
    }
  });

  describe("authDurationOf: whole seconds, else undefined", () => {
    const cases: [string | undefined, number | undefined][] = [
      [undefined, undefined],
      ["0", 0],
      ["30", 30],
      [" 30 ", 30],
      ["999999999", 999999999],
      ["1000000000", undefined],
      ["1.5", undefined],
      ["-5", undefined],
      ["1e3", undefined],
      ["", undefined],
      ["30s", undefined],
    ];
    for (const [value, seconds] of cases) {
      it(`${JSON.stringify(value)}: ${seconds}`, () => {
        expect(authDurationOf(response(200, value === undefined ? {} : { "x-authduration": value }))).to.equal(seconds);
      });
    }
  });

  it("headerOf reads a header by any case of its name, trimmed", () => {
    expect(headerOf(response(200, { "x-location": "  https://x  " }), "X-Location")).to.equal("https://x");
    expect(headerOf(response(200, {}), "X-Location")).to.equal(undefined);
    expect(headerOf(response(200, { "x-location": [] }), "x-location")).to.equal(undefined);
  });
});
