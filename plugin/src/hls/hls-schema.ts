import { z } from "zod";
import { secondsSchema } from "../config/value-schemas.js";

/** How strictly an HLS session key is tied to the address that opened it. */
const HLS_IP_BINDINGS = ["exact", "subnet", "off"] as const;
export type HlsIpBinding = (typeof HLS_IP_BINDINGS)[number];

/** How segment links for an edge are signed (docs/protocols.md §5.1, docs/hls.md "CDN token formats"). */
const HLS_EDGE_FORMATS = ["nginx-secure-link-md5", "akamai-edgeauth", "cloudfront"] as const;

/** An Akamai key: hex, at least 16 bytes. */
const hexKeySchema = z.string().regex(/^([0-9a-fA-F]{2}){16,}$/, "must be the key as hex (an even number of hex digits, at least 32)");

/** The keys each format reads beyond `baseUrl`, `expiresSeconds`, `bindIp` and `format`. */
const FORMAT_KEYS = {
  "nginx-secure-link-md5": ["secret"],
  "akamai-edgeauth": ["secret", "transitionSecret", "startTime", "tokenScope"],
  cloudfront: ["privateKeyFile", "keyPairId"],
} as const;
const FORMAT_ONLY_KEYS = ["secret", "transitionSecret", "startTime", "tokenScope", "privateKeyFile", "keyPairId"] as const;

/**
 * `hls.edge`: segments are served by an edge (nginx with `secure_link`, or a CDN), not by the gate. The gate
 * still authorizes viewers and serves every playlist (its refreshes are the session's heartbeat), but writes
 * each segment URI as an absolute, signed URL on the edge, valid for `expiresSeconds`, for that path (or,
 * with an Akamai ACL token, that channel's folder) only and (with `bindIp`) for the viewer's address only.
 * The keys a format does not read are errors, so a half-switched configuration is caught at load.
 */
export const hlsEdgeSchema = z
  .strictObject({
    baseUrl: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).refine((url) => {
      const parsed = new URL(url);
      return parsed.search === "" && parsed.hash === "" && parsed.username === "" && parsed.password === "";
    }, "must be an http(s) URL without query, fragment or credentials"),
    expiresSeconds: secondsSchema(1).max(86400, "must be at most 86400 s").default(60),
    bindIp: z.boolean().default(true),
    format: z.enum(HLS_EDGE_FORMATS).default("nginx-secure-link-md5"),
    /** nginx: the `secure_link_md5` secret (16+ characters); akamai-edgeauth: the key as hex. */
    secret: z.string().optional(),
    /** akamai-edgeauth: the new key during a rotation (hex), set on the CDN as its transition key first; signs when set. */
    transitionSecret: hexKeySchema.optional(),
    /** akamai-edgeauth: tokens carry their start time (`st`, the moment they are made). Unset: false. */
    startTime: z.boolean().optional(),
    /** akamai-edgeauth: `acl` signs the channel's folder once per playlist, `url` each segment's path. Unset: `acl`. */
    tokenScope: z.enum(["acl", "url"]).optional(),
    /**
     * cloudfront: the PEM file of the key pair's RSA private key, read when the plugin is built (a ConfigError on
     * this key when it is unreadable or no RSA key) and by `--check-config`, not here: a sample may name a path.
     */
    privateKeyFile: z.string().min(1).optional(),
    /** cloudfront: the public key's id in CloudFront (`K2JCJMDEHXQW5F`). */
    keyPairId: z
      .string()
      .regex(/^[A-Za-z0-9]+$/, "must be CloudFront's key id (letters and digits)")
      .optional(),
  })
  .superRefine((edge, ctx) => {
    const allowed: readonly string[] = FORMAT_KEYS[edge.format];
    for (const key of FORMAT_ONLY_KEYS) {
      if (edge[key] !== undefined && !allowed.includes(key))
        ctx.addIssue({ code: "custom", path: [key], message: `is not read by format ${edge.format}`, input: edge[key] });
    }
    const need = (key: (typeof FORMAT_ONLY_KEYS)[number], why: string) => {
      if (edge[key] === undefined)
        ctx.addIssue({ code: "custom", path: [key], message: `is required with format ${edge.format} (${why})`, input: undefined });
    };
    if (edge.format === "nginx-secure-link-md5") {
      need("secret", "the secret in nginx's secure_link_md5");
      if (edge.secret !== undefined && edge.secret.length < 16)
        ctx.addIssue({
          code: "custom",
          path: ["secret"],
          message: "must be at least 16 characters (nginx checks an MD5 over it)",
          input: edge.secret,
        });
    }
    if (edge.format === "akamai-edgeauth") {
      need("secret", "the token authentication key of the Akamai property, as hex");
      if (edge.secret !== undefined && !hexKeySchema.safeParse(edge.secret).success)
        ctx.addIssue({
          code: "custom",
          path: ["secret"],
          message: "must be the key as hex (an even number of hex digits, at least 32)",
          input: "[redacted]",
        });
    }
    if (edge.format === "cloudfront") {
      need("privateKeyFile", "the key pair's RSA private key, PEM");
      need("keyPairId", "the public key's id in CloudFront");
      if (edge.bindIp)
        ctx.addIssue({
          code: "custom",
          path: ["bindIp"],
          message: "must be false with format cloudfront (a canned policy names no address)",
          input: true,
        });
    }
  });
export type HlsEdgeConfig = z.output<typeof hlsEdgeSchema>;

/**
 * `hls`: the HLS gate in front of NMS's HTTP port. NMS 4 exposes no hook for HTTP requests, so the gate takes
 * over its HTTP server's `request` listener, serves playlist and segment paths itself and hands every other
 * request to NMS; the HLS files must lie outside every NMS static root, or NMS would serve them ungated.
 * On NMS 2.7 a null `dir` means NMS's `http.mediaroot` (its `trans` output), which the gate then serves in
 * place of NMS's own static route.
 */
export const hlsSchema = z
  .strictObject({
    dir: z.string().min(1, "must be a directory path").nullable().default(null),
    sessionIdleSec: secondsSchema(1).default(30),
    ipBinding: z.enum(HLS_IP_BINDINGS).default("exact"),
    /**
     * Refused viewers cannot tell an unknown channel from a known one (both 403): requests for unknown
     * channels run the chain (and its backend call) too. False answers them 404 before the chain, which
     * spares the backend but lets anyone list the channels by probing names.
     */
    hideUnknownChannels: z.boolean().default(true),
    /**
     * Bytes of hot segments and playlists the gate keeps in memory (every viewer of a live channel fetches the
     * same few files); a file is re-checked with a stat at most every 250 ms, so a rewritten or deleted one is
     * never served for longer. 0 reads every request from disk.
     */
    segmentCacheBytes: z
      .number()
      .int()
      .min(0)
      .default(64 * 1024 * 1024),
    /**
     * HLS sessions one credential (the user the chain named, else the token/sign/auth values) may hold open from
     * one address before any of them fetches a segment; a playlist request beyond it gets 429. Players open one
     * per start; a few restarts fit. 0 = no bound.
     */
    maxUnplayedPerViewer: z.number().int("must be a whole number of sessions").min(0, "must be 0 (no bound) or more").default(8),
    edge: hlsEdgeSchema.nullable().default(null),
    /**
     * Where the AES-128 keys of encrypted channels are (`<keysDir>/<app>/<channel>/<name>.key`), outside every
     * served folder; `#EXT-X-KEY` URIs (`<name>.key`, beside the playlist) are answered from here, 16 bytes,
     * only to a live session of that channel from its address. Null: no key is served (the bundled server
     * sets `<dataDir>/hls-keys`).
     */
    keysDir: z.string().min(1, "must be a directory path").nullable().default(null),
  })
  .prefault({});
