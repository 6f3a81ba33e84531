// A fake Cesbo-style "HTTP Request" auth backend (docs/protocols.md §2), the TypeScript twin of auth.php.
// Run: npx tsx samples/fake-http-backend.ts --port 6000 [--token 123] [--redirect http://promo/x.flv]
// ?token=<allowed> → 200 with X-Session-Name; anything else → 403 (with X-Location when --redirect is set).
import { cliOption, fakeBackend, isMain, reply, runFromCli, type FakeBackend } from "./fake-backend-kit.js";

export interface FakeHttpBackendOptions {
  /** Tokens that are allowed. Default: ["123"]. */
  tokens?: string[];
  /** X-Location sent with every deny; none by default. */
  redirectUrl?: string;
}

/** Creates the fake (not listening yet). */
export function createFakeHttpBackend(options: FakeHttpBackendOptions = {}): FakeBackend {
  const tokens = options.tokens ?? ["123"];
  return fakeBackend((url, _req, res) => {
    const token = url.searchParams.get("token") ?? "";
    if (tokens.includes(token)) return reply(res, 200, { "X-Session-Name": `user-${token}` });
    reply(res, 403, options.redirectUrl !== undefined ? { "X-Location": options.redirectUrl } : {});
  });
}

if (isMain(import.meta.url)) {
  const redirect = cliOption("redirect", "");
  await runFromCli(
    createFakeHttpBackend({ tokens: [cliOption("token", "123")], ...(redirect !== "" ? { redirectUrl: redirect } : {}) }),
    6000,
    "fake http-request backend",
  );
}
