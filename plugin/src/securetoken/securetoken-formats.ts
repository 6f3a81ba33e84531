import type { SecureTokenFormatName } from "./securetoken-schema.js";
import { nmsSignFormat } from "./nms-sign-format.js";
import type { SecureTokenFormat } from "./securetoken-format.js";
import { createSha1SecureTokenFormat } from "./sha1-securetoken-format.js";

/** Cesbo Astra/Alta: the hashed subject is the request path (for HLS, the playlist's). */
const astraFormat = createSha1SecureTokenFormat({ name: "astra", subjectOf: (s) => s.path, salt: /[0-9a-fA-F]{8}/, saltBytes: 4 });

/** Flussonic: the hashed subject is the stream name. */
const flussonicFormat = createSha1SecureTokenFormat({
  name: "flussonic",
  subjectOf: (s) => s.channel,
  salt: /[0-9A-Za-z]{1,64}/,
  saltBytes: 16,
});

/** Every signed-link format by its configuration name. */
export const SECURETOKEN_FORMAT_BY_NAME: Readonly<Record<SecureTokenFormatName, SecureTokenFormat>> = {
  astra: astraFormat,
  flussonic: flussonicFormat,
  nms: nmsSignFormat,
};
