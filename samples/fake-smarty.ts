// A fake Microimpuls Smarty token check (docs/protocols.md §3.3).
// Run: npx tsx samples/fake-smarty.ts --port 8082   then use samples/smarty-backend.yaml
//   GET /tvmiddleware/api/streamservice/token/issue/?name=<channel>[&ip=<viewer ip>]  → {"token":"…"} (fake only)
//   GET /tvmiddleware/api/streamservice/token/check/?token=<t>[&name=<channel>][&ip=<ip>]
//       → 200 {"error":0} valid, {"error":1} expired/unknown, {"error":2} other content, {"error":3} another IP
import { randomBytes } from "node:crypto";
import { cliOption, fakeBackend, isMain, reply, runFromCli, type FakeBackend } from "./fake-backend-kit.js";

export interface FakeSmartyOptions {
  /** How long an issued token is valid, ms. */
  tokenTtlMs?: number;
  now?: () => number;
}

export interface FakeSmarty extends FakeBackend {
  /** Issues a token for a channel, bound to an IP when one is given. */
  issue(name: string, ip?: string): string;
}

const API = "/tvmiddleware/api/streamservice/token";

/** Creates the fake Smarty (not listening yet): tokens bound to a channel and optionally an IP. */
export function createFakeSmarty(options: FakeSmartyOptions = {}): FakeSmarty {
  const ttlMs = options.tokenTtlMs ?? 60_000;
  const now = options.now ?? Date.now;
  const tokens = new Map<string, { name: string; ip: string | undefined; issuedAt: number }>();
  const issue = (name: string, ip?: string): string => {
    const token = randomBytes(12).toString("hex");
    tokens.set(token, { name, ip, issuedAt: now() });
    return token;
  };
  const json = (error: number) => JSON.stringify({ error });
  const fake = fakeBackend((url, _req, res) => {
    const q = url.searchParams;
    const type = { "Content-Type": "application/json" };
    if (url.pathname === `${API}/issue/`)
      return reply(res, 200, type, JSON.stringify({ token: issue(q.get("name") ?? "", q.get("ip") ?? undefined) }));
    if (url.pathname !== `${API}/check/`) return reply(res, 404);
    const entry = tokens.get(q.get("token") ?? "");
    if (entry === undefined || now() - entry.issuedAt > ttlMs) return reply(res, 200, type, json(1));
    if (q.has("name") && q.get("name") !== entry.name) return reply(res, 200, type, json(2));
    if (entry.ip !== undefined && q.has("ip") && q.get("ip") !== entry.ip) return reply(res, 200, type, json(3));
    reply(res, 200, type, json(0));
  });
  return Object.assign(fake, { issue });
}

if (isMain(import.meta.url)) {
  await runFromCli(createFakeSmarty(), Number(cliOption("port", "8082")), "fake smarty");
}
