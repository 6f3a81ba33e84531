import { createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { ConfigError } from "../core/errors.js";
import { AkamaiEdgeAuthSigner } from "./akamai-edgeauth-signer.js";
import { CloudFrontSigner } from "./cloudfront-signer.js";
import type { EdgeSigner } from "./edge-signer.js";
import type { HlsEdgeConfig } from "./hls-schema.js";
import { NginxSecureLinkSigner } from "./nginx-secure-link-signer.js";

/** The signer of `hls.edge.format`, one per format. Throws a ConfigError when the CloudFront key cannot be read. */
export function edgeSignerOf(config: HlsEdgeConfig): EdgeSigner {
  switch (config.format) {
    case "nginx-secure-link-md5":
      return new NginxSecureLinkSigner(config.secret!);
    case "akamai-edgeauth":
      // A transition key, when set, is the one to sign with: the CDN accepts it beside the main key during a rotation.
      return new AkamaiEdgeAuthSigner({
        keyHex: config.transitionSecret ?? config.secret!,
        scope: config.tokenScope ?? "acl",
        startTime: config.startTime ?? false,
      });
    case "cloudfront": {
      const key = readPrivateKey(config.privateKeyFile!);
      if (typeof key === "string") throw new ConfigError([{ path: "hls.edge.privateKeyFile", message: key }]);
      return new CloudFrontSigner(key, config.keyPairId!);
    }
  }
}

/** The RSA private key in a PEM file, or why it cannot be used (for `--check-config` too). */
export function readPrivateKey(file: string): KeyObject | string {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (error) {
    return `${file} is not readable (${(error as NodeJS.ErrnoException).code ?? "error"}): give CloudFront's key pair's private key file`;
  }
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== "rsa") return `${file} holds a ${key.asymmetricKeyType} key; CloudFront signs with an RSA key`;
    return key;
  } catch {
    return `${file} is not a PEM private key: give CloudFront's key pair's private key file (-----BEGIN … PRIVATE KEY-----)`;
  }
}
