import type { SecureTokenConfig } from "../securetoken/securetoken-schema.js";
import type { DecisionFilter, DecisionLog } from "./decision-log.js";
import type { ViewerHistory } from "./viewer-history.js";
import { makeSecureLink } from "../securetoken/make-secure-link.js";
import type { Reply, Route } from "../core/api-route.js";
import { apiError } from "../core/api-errors.js";

/** What the console's own routes read. */
export interface ConsoleRoutesDeps {
  decisions: DecisionLog;
  history: ViewerHistory;
  /** The securetoken settings in force: the preview link is signed with the first secret. */
  securetoken: () => SecureTokenConfig;
  /** The port HLS is served on (the bundled server's HTTP port); no preview without it. */
  hlsPort: (() => number | undefined) | undefined;
}

/** How long a preview link the console mints for itself stays valid. */
const PREVIEW_LINK_SEC = 3_600;
const MAX_DECISIONS = 1_000;

/**
 * Routes behind the console's pages that the plain API did not have: the decision audit log
 * (`/api/decisions`, filters verdict, step, channel, ip, q), viewers per channel and protocol now and over
 * the last hour (`/api/viewers/history`), and a signed HLS link for the Channels page's preview
 * (`/api/console/preview?channel=app/name`).
 */
export function consoleRoutes(deps: ConsoleRoutesDeps): Route[] {
  return [
    { method: "GET", pattern: /^\/api\/decisions$/, handler: ({ url }) => decisions(url) },
    {
      method: "GET",
      pattern: /^\/api\/viewers\/history$/,
      handler: () => ({
        status: 200,
        body: { now: Object.fromEntries(deps.history.current()), history: deps.history.history() },
      }),
    },
    { method: "GET", pattern: /^\/api\/console\/preview$/, handler: ({ url, ip }) => preview(url, ip) },
  ];

  function decisions(url: URL): Reply {
    const q = url.searchParams;
    const filter: DecisionFilter = {};
    for (const [param, key] of [
      ["verdict", "verdict"],
      ["step", "step"],
      ["channel", "channel"],
      ["ip", "ip"],
      ["q", "text"],
    ] as const) {
      const value = q.get(param);
      if (value !== null && value !== "") filter[key] = value;
    }
    const limitText = q.get("limit") ?? "200";
    const limit = /^\d{1,5}$/.test(limitText) ? Number(limitText) : NaN;
    if (!(limit >= 1 && limit <= MAX_DECISIONS))
      return apiError(400, "VA_API_BAD_REQUEST", `limit: must be a whole number from 1 to ${MAX_DECISIONS}`);
    // Anonymous refusals are kept one by one only the newest few; their counts over the last hour come along.
    return { status: 200, body: { decisions: deps.decisions.recent(filter, limit), anonymousRefusals: deps.decisions.anonymousSummary() } };
  }

  /** A signed link to the channel's playlist, as a path and the HLS port (the page adds the host it was opened on). */
  function preview(url: URL, ip: string): Reply {
    const channel = url.searchParams.get("channel") ?? "";
    // No name may start with a dot: "../x" must not become a path that leaves the app.
    const match = /^([A-Za-z0-9_-][A-Za-z0-9_.-]*)\/([A-Za-z0-9_-][A-Za-z0-9_.-]*)$/.exec(channel);
    if (match === null)
      return apiError(400, "VA_API_BAD_REQUEST", 'channel: must be "app/name" (letters, digits, "_", "-", and "." after the first)');
    const port = deps.hlsPort?.();
    if (port === undefined || port === 0)
      return apiError(404, "VA_API_FEATURE_OFF", "no HLS server to preview from (the bundled server provides it)");
    const settings = deps.securetoken();
    const secret = settings.secrets[0];
    if (secret === undefined)
      return apiError(409, "VA_API_CONFLICT", "the preview plays through a signed link: set auth.securetoken.secrets");
    const path = `/${match[1]}/${match[2]}/index.m3u8`;
    const lifetimeSec = Math.min(PREVIEW_LINK_SEC, settings.maxLifetimeSec);
    const link = new URL(
      makeSecureLink({
        url: `http://preview.invalid${path}`,
        secret,
        lifetimeSec,
        maxLifetimeSec: settings.maxLifetimeSec,
        format: settings.format,
        ...(settings.bindIp ? { ip } : {}),
      }),
    );
    return { status: 200, body: { port, path: `${link.pathname}${link.search}`, expiresInSec: lifetimeSec } };
  }
}
