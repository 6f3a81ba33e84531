import { randomBytes } from "node:crypto";
import { DEFAULT_MAX_LINK_LIFETIME_SEC, type SecureTokenFormatName } from "./securetoken-schema.js";
import { SignedLinkError } from "../core/errors.js";
import { systemClock } from "../core/clock.js";
import { Redactor } from "../core/redactor.js";
import { SECURETOKEN_FORMAT_BY_NAME } from "./securetoken-formats.js";

/** What a signed link is made from. */
export interface SecureLinkOptions {
  /** The full URL the viewer will open, e.g. `http://host:8000/live/test/index.m3u8` (any query is kept). */
  url: string;
  /** One of the secrets in `auth.securetoken.secrets`. */
  secret: string;
  /** Seconds the link stays valid from `nowMs`; at most `maxLifetimeSec`. */
  lifetimeSec: number;
  /**
   * The server's `maxLifetimeSec` (`auth.securetoken` or `publish.securetoken`): a longer link would be
   * refused there, so none is made. Default 86400, the configuration's default.
   */
  maxLifetimeSec?: number;
  /** Default `astra`. */
  format?: SecureTokenFormatName;
  /** The viewer's IP; leave unset (empty) when the server runs with `bindIp: false`. Ignored by `nms`. */
  ip?: string;
  /** Milliseconds since the epoch the link starts at. Default: now. */
  nowMs?: number;
  /** Fixed salt (tests, reproducing published vectors). Default: random. */
  salt?: string;
  /**
   * A publish link (`publish.securetoken`, signed with one of its secrets): the hashed path is
   * `/<app>/<stream>` whatever the URL's form (`rtmp://host/app/stream`, `http://host/app/stream.flv`,
   * `ws://…`), so one signature serves RTMP, HTTP-FLV and WS-FLV publishing alike.
   */
  publish?: boolean;
}

/**
 * Makes a signed temporary link (docs/protocols.md §4): the URL with the format's parameter appended. The
 * hashed path is the URL's path; app and channel come from its first two segments
 * (`/app/channel.flv`, `/app/channel`, `/app/channel/index.m3u8`).
 *
 * @example
 * makeSecureLink({ url: "http://127.0.0.1:8000/live/test/index.m3u8", ip: "127.0.0.1", lifetimeSec: 3600, secret: "quickstart-secret" });
 * // "http://127.0.0.1:8000/live/test/index.m3u8?token=<sha1>-<salt>-<end>-<start>"
 * makeSecureLink({ url: "rtmp://127.0.0.1:1935/live/cam1", lifetimeSec: 3600, secret: "publish-secret", publish: true });
 * // "rtmp://127.0.0.1:1935/live/cam1?token=…": a publish link (publish.securetoken)
 */
export function makeSecureLink(options: SecureLinkOptions): string {
  const format = SECURETOKEN_FORMAT_BY_NAME[options.format ?? "astra"];
  if (format === undefined) throw new SignedLinkError(`unknown format ${JSON.stringify(options.format)}; expected astra, flussonic or nms`);
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    // Echo the URL for the operator, but not the credentials it may carry (it ends up on a console or in a log).
    throw new SignedLinkError(`url ${JSON.stringify(new Redactor([options.secret]).redact(options.url))} is not an absolute URL`);
  }
  const [app, second] = url.pathname.split("/").filter((s) => s !== "");
  const channel = second?.replace(/\.(flv|m3u8)$/, "");
  if (app === undefined || channel === undefined || channel === "") {
    throw new SignedLinkError(`url path ${JSON.stringify(url.pathname)} does not name an app and a channel (/app/channel...)`);
  }
  if (!Number.isInteger(options.lifetimeSec) || options.lifetimeSec < 1) {
    throw new SignedLinkError(`lifetimeSec ${options.lifetimeSec} must be a whole number of seconds, at least 1`);
  }
  const maxLifetimeSec = options.maxLifetimeSec ?? DEFAULT_MAX_LINK_LIFETIME_SEC;
  if (!Number.isInteger(maxLifetimeSec) || maxLifetimeSec < 1)
    throw new SignedLinkError(`maxLifetimeSec ${maxLifetimeSec} must be a whole number of seconds, at least 1`);
  if (options.lifetimeSec > maxLifetimeSec) {
    throw new SignedLinkError(
      `lifetimeSec ${options.lifetimeSec} is over the maximum lifetime of ${maxLifetimeSec} s: the server refuses such a link (maxLifetimeSec of auth.securetoken or publish.securetoken)`,
    );
  }
  if (options.secret === "") throw new SignedLinkError("secret must not be empty");
  const startSec = Math.floor((options.nowMs ?? systemClock.now()) / 1000);
  if (!Number.isSafeInteger(startSec) || startSec < 0) throw new SignedLinkError(`nowMs ${options.nowMs} is not a time after 1970`);
  const endSec = startSec + options.lifetimeSec;
  const fields = {
    startSec: format.name === "nms" ? undefined : startSec,
    endSec,
    salt: options.salt ?? (format.saltBytes > 0 ? randomBytes(format.saltBytes).toString("hex") : ""),
  };
  const path = options.publish === true ? `/${app}/${channel}` : url.pathname;
  const subject = { path, app, channel, ip: format.hashesIp ? (options.ip ?? "") : "" };
  const value = format.encode({ ...fields, hash: format.digest(fields, subject, options.secret) });
  // The server accepts only the canonical spelling: a salt of the wrong shape would make a dead link.
  if (format.parse(value) === null) throw new SignedLinkError(`salt ${JSON.stringify(fields.salt)} does not fit the ${format.name} format`);
  url.searchParams.append(format.param, value);
  return url.toString();
}
