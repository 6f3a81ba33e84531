import type { Authorizer } from "../core/authorizer.js";
import type { AuthRequest } from "../core/auth-request.js";
import { denyWith, PASS, type StepVerdict } from "../core/decision.js";
import { HostPatterns } from "./host-pattern.js";
import type { OriginLockConfig } from "./origin-schema.js";

/**
 * The origin lock step (docs/origin-lock.md): the page a player runs in must be on `allow`. The page is
 * the request's `pageHost`: the `Origin` header's host, else the `Referer`'s (HTTP-FLV, WS-FLV, HLS
 * playlists; HLS segments ride the session the playlist opened), RTMP connect's `pageUrl`. A matching
 * page passes on to the credential steps; a foreign one, or one that names no host (`Origin: null`), is
 * refused (`origin-not-allowed`). No page at all: `allowMissing` decides (pass, or refuse). The lock
 * only refuses: it never lets a viewer in by itself.
 */
export function createOriginAuthorizer(config: OriginLockConfig): Authorizer {
  const patterns = new HostPatterns(config.allow);
  return {
    name: "origin",
    decide: function origin(request: AuthRequest): StepVerdict {
      const page = request.pageHost;
      if (page === undefined) {
        return config.allowMissing ? PASS : denyWith("origin-not-allowed", "the request names no page (no Origin, Referer or pageUrl)");
      }
      if (page !== "" && patterns.matches(page)) return PASS;
      return denyWith(
        "origin-not-allowed",
        page === "" ? "the page has no host name" : `page host ${JSON.stringify(page.slice(0, 253))} is not allowed`,
      );
    },
  };
}
