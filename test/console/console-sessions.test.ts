import { expect } from "chai";
import { CONSOLE_COOKIE, consoleCookie, consoleCookieOf, ConsoleSessions, CSRF_HEADER } from "../../plugin/src/console/console-sessions.js";
import { ManualClock } from "../helpers/manual-clock.js";

const HOUR = 3_600_000;

describe("console-sessions: the console's cookie table", () => {
  describe("consoleCookieOf reads the id from a Cookie header", () => {
    const cases: [string | undefined, string | undefined][] = [
      [undefined, undefined],
      ["", undefined],
      ["va_console=abc", "abc"],
      ["theme=dark; va_console=abc; lang=en", "abc"],
      [" va_console = abc ", "abc"],
      ["va_console=", ""],
      ["xva_console=abc", undefined],
      ["va_console_old=abc", undefined],
      ["=abc; va_console", undefined],
      ["va_console=a=b", "a=b"],
      ["va_console=first; va_console=second", "first"],
    ];
    for (const [header, id] of cases) {
      it(`${JSON.stringify(header)}: ${JSON.stringify(id)}`, () => {
        expect(consoleCookieOf(header)).to.equal(id);
      });
    }
  });

  it("writes the Set-Cookie value, Secure over HTTPS only", () => {
    expect(consoleCookie("ID", 43200, false)).to.equal("va_console=ID; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200");
    expect(consoleCookie("ID", 0, true)).to.equal("va_console=ID; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure");
    expect([CONSOLE_COOKIE, CSRF_HEADER]).to.deep.equal(["va_console", "x-csrf-token"]);
  });

  it("creates random 256-bit ids and CSRF tokens lasting 12 h", () => {
    const sessions = new ConsoleSessions(new ManualClock(0));
    const a = sessions.create({ name: "admin", role: "admin" });
    const b = sessions.create({ name: "admin", role: "admin" });
    expect(a.id).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(a.csrf).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set([a.id, a.csrf, b.id, b.csrf]).size).to.equal(4);
    expect(a.maxAgeSec).to.equal(43200);
    expect(sessions.size).to.equal(2);
  });

  it("an idle session lapses after 2 h; activity keeps it until 12 h", () => {
    const clock = new ManualClock(0);
    const sessions = new ConsoleSessions(clock);
    const idle = sessions.create({ name: "admin", role: "admin" });
    const busy = sessions.create({ name: "admin", role: "admin" });
    for (let h = 1; h <= 11; h++) {
      clock.set(h * HOUR);
      expect(sessions.csrfOf(busy.id), `hour ${h}`).to.equal(busy.csrf);
    }
    expect(sessions.csrfOf(idle.id)).to.equal(undefined);
    clock.set(12 * HOUR);
    expect(sessions.csrfOf(busy.id)).to.equal(busy.csrf);
    clock.set(12 * HOUR + 1);
    expect(sessions.csrfOf(busy.id)).to.equal(undefined);
    expect(sessions.size).to.equal(0);
  });

  it("matches a CSRF token only for its own session; sign-out deletes", () => {
    const sessions = new ConsoleSessions(new ManualClock(0));
    const a = sessions.create({ name: "admin", role: "admin" });
    const b = sessions.create({ name: "admin", role: "admin" });
    expect(sessions.csrfMatches(a.id, a.csrf)).to.equal(true);
    expect(sessions.csrfMatches(a.id, b.csrf)).to.equal(false);
    expect(sessions.csrfMatches(a.id, undefined)).to.equal(false);
    expect(sessions.csrfMatches(undefined, a.csrf)).to.equal(false);
    expect(sessions.csrfMatches("unknown", a.csrf)).to.equal(false);
    sessions.delete(a.id);
    sessions.delete(undefined);
    expect(sessions.csrfMatches(a.id, a.csrf)).to.equal(false);
    expect(sessions.size).to.equal(1);
  });

  it("keeps at most 1,000 sign-ins, dropping the oldest", () => {
    const sessions = new ConsoleSessions(new ManualClock(0));
    const first = sessions.create({ name: "admin", role: "admin" });
    const second = sessions.create({ name: "admin", role: "admin" });
    for (let i = 0; i < 999; i++) sessions.create({ name: "admin", role: "admin" });
    expect(sessions.size).to.equal(1000);
    expect(sessions.csrfOf(first.id)).to.equal(undefined);
    expect(sessions.csrfOf(second.id)).to.equal(second.csrf);
  });
});
