// A fake Ministra/Stalker portal with "Temporary URL – Flussonic support" (docs/protocols.md §3.2).
// Run: npx tsx samples/fake-ministra.ts --port 8081   then use samples/ministra-backend.yaml
//   GET /stalker_portal/server/load.php?type=itv&action=create_link&cmd=<channel url>[&mac=<box>]
//       → {"js":{"cmd":"<channel url>?token=<32 hex>"}}  (what a set-top box gets; the token lives 5 s)
//   GET /stalker_portal/server/api/chk_flussonic_tmp_link.php?token=<t>
//       → 200, empty body, X-AuthDuration: 36000, X-Unique: true, X-Max-Sessions: 1, X-UserId: <box>
//       → 403, empty body, for an unknown or expired token
import { randomBytes } from "node:crypto";
import { cliOption, fakeBackend, isMain, reply, runFromCli, type FakeBackend } from "./fake-backend-kit.js";

export interface FakeMinistraOptions {
  /** How long an issued token is valid, ms (Ministra's tv_tmp_link_ttl = 5 s). */
  tokenTtlMs?: number;
  /** X-AuthDuration sent on a valid token, s. */
  authDurationSec?: number;
  /** X-Max-Sessions sent on a valid token. */
  maxSessions?: number;
  /** Clock of the fake, ms. */
  now?: () => number;
}

/** The fake portal, plus `issue` to hand out a token directly (as create_link does). */
export interface FakeMinistra extends FakeBackend {
  issue(box?: string): string;
}

/** Where the fake portal lives, as in `http://host/stalker_portal`. */
export const MINISTRA_BASE_PATH = "/stalker_portal";

/** Creates the fake portal (not listening yet): tokens valid `tokenTtlMs` after issue, checked as Ministra does. */
export function createFakeMinistra(options: FakeMinistraOptions = {}): FakeMinistra {
  const ttlMs = options.tokenTtlMs ?? 5000;
  const now = options.now ?? Date.now;
  const tokens = new Map<string, { box: string; issuedAt: number }>();
  const issue = (box = "stb-1"): string => {
    const token = randomBytes(16).toString("hex");
    tokens.set(token, { box, issuedAt: now() });
    return token;
  };
  const fake = fakeBackend((url, _req, res) => {
    if (url.pathname === `${MINISTRA_BASE_PATH}/server/load.php` && url.searchParams.get("action") === "create_link") {
      const cmd = url.searchParams.get("cmd") ?? "";
      const token = issue(url.searchParams.get("mac") ?? "stb-1");
      const body = JSON.stringify({ js: { cmd: `${cmd}${cmd.includes("?") ? "&" : "?"}token=${token}` } });
      return reply(res, 200, { "Content-Type": "application/json" }, body);
    }
    if (url.pathname === `${MINISTRA_BASE_PATH}/server/api/chk_flussonic_tmp_link.php`) {
      const entry = tokens.get(url.searchParams.get("token") ?? "");
      if (entry === undefined || now() - entry.issuedAt > ttlMs) return reply(res, 403);
      return reply(res, 200, {
        "X-AuthDuration": String(options.authDurationSec ?? 36000),
        "X-Unique": "true",
        "X-Max-Sessions": String(options.maxSessions ?? 1),
        "X-UserId": entry.box,
      });
    }
    reply(res, 404);
  });
  return Object.assign(fake, { issue });
}

if (isMain(import.meta.url)) {
  const fake = createFakeMinistra({ tokenTtlMs: Number(cliOption("token-ttl-ms", "5000")) });
  await runFromCli(fake, 8081, "fake ministra");
  console.error(
    `issue a token: curl 'http://127.0.0.1:${cliOption("port", "8081")}${MINISTRA_BASE_PATH}/server/load.php?type=itv&action=create_link&cmd=http://127.0.0.1:8000/live/test.flv'`,
  );
}
