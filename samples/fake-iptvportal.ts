// A fake IPTVPortal arescrypt token check (docs/protocols.md §3.4; its wire format is undocumented, so
// this fake follows the Flussonic auth backend protocol it publishes).
// Run: npx tsx samples/fake-iptvportal.ts --port 8083 --token abc   then use samples/iptvportal-backend.yaml
//   GET /auth/arescrypt/?name=<channel>&ip=…&token=<t>&…&<the viewer's other parameters>
//       → 200 with X-AuthDuration and X-UserId for a known token (on its channels), else 403
import { cliOption, fakeBackend, isMain, reply, runFromCli, type FakeBackend } from "./fake-backend-kit.js";

export interface FakeIptvportalOptions {
  /** Valid tokens → the user id and the channels they open (empty = every channel). */
  tokens?: Record<string, { userId: string; channels?: string[] }>;
  authDurationSec?: number;
}

/** Creates the fake IPTVPortal check (not listening yet) with a fixed set of valid tokens. */
export function createFakeIptvportal(options: FakeIptvportalOptions = {}): FakeBackend {
  const tokens = options.tokens ?? { abc: { userId: "subscriber-1" } };
  return fakeBackend((url, _req, res) => {
    if (url.pathname !== "/auth/arescrypt/" && url.pathname !== "/auth/flussonic/arescrypt/") return reply(res, 404);
    const entry = tokens[url.searchParams.get("token") ?? ""];
    const name = url.searchParams.get("name") ?? "";
    if (entry === undefined || (entry.channels !== undefined && entry.channels.length > 0 && !entry.channels.includes(name)))
      return reply(res, 403);
    reply(res, 200, { "X-AuthDuration": String(options.authDurationSec ?? 600), "X-UserId": entry.userId });
  });
}

if (isMain(import.meta.url)) {
  const token = cliOption("token", "abc");
  await runFromCli(
    createFakeIptvportal({ tokens: { [token]: { userId: "subscriber-1" } } }),
    Number(cliOption("port", "8083")),
    "fake iptvportal",
  );
}
