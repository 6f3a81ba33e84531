import { randomBytes } from "node:crypto";
import type { Clock } from "../core/clock.js";
import { secretsEqual } from "../core/secrets.js";
import type { ApiActor } from "../core/api-route.js";

/** The console's cookie: HttpOnly (scripts cannot read it), SameSite=Strict (no cross-site request carries it). */
export const CONSOLE_COOKIE = "va_console";
/** The header a state-changing console request carries its CSRF token in. */
export const CSRF_HEADER = "x-csrf-token";

/** A signed-in console: how long it lasts, idle and at most. */
const IDLE_MS = 2 * 3_600_000;
const MAX_AGE_MS = 12 * 3_600_000;
/** Signed-in consoles kept at most; past this the oldest sign-in is dropped. */
const MAX_SESSIONS = 1_000;

interface ConsoleSession {
  csrf: string;
  /** The credential that signed in (its name and role; never its value): what the session may do. */
  actor: ApiActor;
  createdAt: number;
  lastSeenAt: number;
}

/**
 * ConsoleSessions is the server-side table behind the console's cookie: a random id per sign-in (the
 * cookie's value, never the API credential), its CSRF token, who signed in (the credential's name and
 * role), and its expiry (2 h idle, 12 h at most).
 * Signing out or expiry deletes the entry, so a stolen cookie stops working with it.
 */
export class ConsoleSessions {
  readonly #clock: Clock;
  readonly #sessions = new Map<string, ConsoleSession>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** A new signed-in console: its cookie id and CSRF token. */
  create(actor: ApiActor): { id: string; csrf: string; maxAgeSec: number } {
    const id = randomBytes(32).toString("base64url");
    const csrf = randomBytes(32).toString("base64url");
    const now = this.#clock.now();
    this.#sessions.set(id, { csrf, actor: { name: actor.name, role: actor.role }, createdAt: now, lastSeenAt: now });
    if (this.#sessions.size > MAX_SESSIONS) this.#sessions.delete(this.#sessions.keys().next().value!);
    return { id, csrf, maxAgeSec: MAX_AGE_MS / 1000 };
  }

  /** The CSRF token of a live console session (and it counts as activity), or undefined. */
  csrfOf(id: string | undefined): string | undefined {
    return this.#live(id)?.csrf;
  }

  /** Who signed in a live console session (and it counts as activity), or undefined. */
  actorOf(id: string | undefined): ApiActor | undefined {
    return this.#live(id)?.actor;
  }

  /** A live console session (touched), or undefined. */
  #live(id: string | undefined): { csrf: string; actor: ApiActor } | undefined {
    if (id === undefined) return undefined;
    const session = this.#sessions.get(id);
    if (session === undefined) return undefined;
    const now = this.#clock.now();
    if (now - session.lastSeenAt > IDLE_MS || now - session.createdAt > MAX_AGE_MS) {
      this.#sessions.delete(id);
      return undefined;
    }
    session.lastSeenAt = now;
    return session;
  }

  /** Whether `given` is the CSRF token of that console session (constant time). */
  csrfMatches(id: string | undefined, given: string | undefined): boolean {
    const csrf = this.csrfOf(id);
    return csrf !== undefined && given !== undefined && secretsEqual(given, csrf);
  }

  delete(id: string | undefined): void {
    if (id !== undefined) this.#sessions.delete(id);
  }

  get size(): number {
    return this.#sessions.size;
  }
}

/** The console session id in a Cookie header, or undefined. */
export function consoleCookieOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === CONSOLE_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The Set-Cookie value for a sign-in (or, with maxAgeSec 0, a sign-out). `secure` when the console is reached over HTTPS. */
export function consoleCookie(id: string, maxAgeSec: number, secure: boolean): string {
  return `${CONSOLE_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSec}${secure ? "; Secure" : ""}`;
}
